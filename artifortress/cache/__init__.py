"""Caches of stored renderings: in-process, then Redis when configured.

Entries are keyed by the change counter's revision, so a cache can never
serve a stale rendering: after a change the key itself is new.  A cache
only saves work; losing it (Redis down, process restart) costs speed, never
correctness.
"""
