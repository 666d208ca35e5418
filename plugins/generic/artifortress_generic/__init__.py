"""Artifortress format plugin: Any file, stored by path with curl."""
