"""Falcon glue: middleware, permission hooks, error mapping, the route table."""
