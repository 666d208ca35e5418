"""Benchmarks of Artifortress side by side with its peers (``make bench``, see bench/run.py)."""
