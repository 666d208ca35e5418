"""Mounting format plugins' routes, and answering errors under them in their protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from artifortress.errors import ConfigurationError
from artifortress.formats import ErrorRenderer, FormatSpec, PluginRoute

if TYPE_CHECKING:
    import falcon


def plugin_routes(pm: pluggy.PluginManager, formats: Mapping[str, FormatSpec]) -> list[PluginRoute]:
    """Every plugin route, checked to sit under a declared format's prefix."""
    routes: list[PluginRoute] = []
    for contributed in pm.hook.artifortress_routes():
        for route in contributed:
            if route.format not in formats:
                raise ConfigurationError(
                    f"a plugin mounts {route.template!r} under undeclared format {route.format!r}"
                )
            if not route.template.startswith("/") or ".." in route.template:
                raise ConfigurationError(f"plugin route {route.template!r} must start with '/'")
            routes.append(route)
    return routes


def error_renderer_for(path: str, formats: Mapping[str, FormatSpec]) -> ErrorRenderer | None:
    """The renderer of the format whose prefix *path* is under, if it has one."""
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    spec = formats.get(first)
    return spec.render_error if spec is not None else None


def mount(app: falcon.App[Any, Any], routes: list[PluginRoute]) -> None:
    for route in routes:
        app.add_route(route.path, route.resource)
