"""The web UI under ``/ui/``: server-rendered pages over the same services and RBAC as the API.

:mod:`artifortress.ui.mount` is all that the app factory imports; the pages,
templates, README renderers and sanitizer load on the first ``/ui/`` request,
so a worker that serves only package clients never pays for them.
"""
