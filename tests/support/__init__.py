"""Test support for the core's own tests and the benchmark (not shipped).

Services the core's tests stand up around the application (nginx from the
shipped config, moto's S3, a cuttable TCP proxy), the live router's
operations, and a blob store that fails on command.  The plugin author's kit
is ``artifortress.testing``.
"""
