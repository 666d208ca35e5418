"""The HTTP toolkit every plane's resources use: request context and body parsing,
permission hooks, OpenAPI declarations, error mapping, middleware, metrics.

The route table and the rest of the composed app live in :mod:`artifortress.web`,
above the planes; nothing here imports it.
"""
