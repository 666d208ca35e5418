"""Artifortress format plugin: an OCI distribution registry (container images, artifacts)."""
