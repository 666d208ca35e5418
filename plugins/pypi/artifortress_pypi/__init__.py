"""Artifortress format plugin: Python packages: PEP 503/691 simple index and twine uploads."""
