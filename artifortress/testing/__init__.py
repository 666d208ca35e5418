"""The plugin author's kit: pytest fixtures for a database, services, an app, tokens, repos.

Registered as a pytest plugin through the ``pytest11`` entry point, so any
project that installs Artifortress gets the fixtures without a conftest.
Beside the fixtures: ``helpers`` (the ``Api`` client), ``events``
(``drain_events``, the outbox worker in process), ``contract`` (the import
check as a test), ``server`` (``ServerProcess``, the real server for
end-to-end tests), ``transfer`` (streaming uploads, worker memory),
``dbwork`` (statement counts), ``bombs`` (decompression bombs) and
``databases`` (throw-away SQLite and PostgreSQL databases).  Documented as
API in "Testing your plugin" (docs/plugins.md).  The core's own test support
(nginx, S3, proxies) lives in ``tests/support``, outside the package.
"""
