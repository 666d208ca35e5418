"""Stored renderings: index pages and packuments built once per change, shared by all nodes.

``store`` keeps each rendering with the change counter's revision it was built
from (``models``), so a rendering is rebuilt once after a change and never
served stale; ``cache`` holds them in process, then in Redis when configured.
A cache only saves work: losing it (Redis down, process restart) costs speed,
never correctness.
"""
