"""Rendered documents (index pages, packuments) stored once per change, shared by all nodes."""
