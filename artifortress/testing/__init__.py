"""The plugin author's kit: pytest fixtures for a database, services, an app, tokens, repos.

Registered as a pytest plugin through the ``pytest11`` entry point, so any
project that installs Artifortress gets the fixtures without a conftest.
"""
