"""The web application composed: the route table, the OpenAPI document and its
Swagger UI, the operational endpoints and the mounting of plugin routes.

It sits on top of every plane's resources and of the ``http`` toolkit they are
built with (body parsing, permissions, request context, error mapping,
middleware); nothing below imports it.  ``artifortress.app`` builds the app
from it.
"""
