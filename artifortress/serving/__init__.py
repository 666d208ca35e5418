"""Serving HTTP: the gunicorn worker that keeps slow clients off the application's threads."""
