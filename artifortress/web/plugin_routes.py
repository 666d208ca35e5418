"""Mounting format plugins' routes beside the core's route table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from artifortress.errors import ConfigurationError
from artifortress.formats import FormatSpec, PluginRoute
from artifortress.repos.services import REPO_KEY

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
            if not route.per_repo and _may_name_a_repository(route.template):
                raise ConfigurationError(
                    f"plugin route {route.template!r} of the whole format must be '/' or start "
                    "with a segment no repository key can be (such as '/_catalog')"
                )
            routes.append(route)
    return routes


def _may_name_a_repository(template: str) -> bool:
    first = template.split("/", 2)[1]
    return first != "" and (first.startswith("{") or REPO_KEY.fullmatch(first) is not None)


def mount(
    app: falcon.App[Any, Any],
    routes: list[PluginRoute],
    formats: Mapping[str, FormatSpec] | None = None,
) -> None:
    """Add each plugin route to *app* under its format's segment, with HEAD wherever GET is."""
    for route in routes:
        spec = formats.get(route.format) if formats is not None else None
        answer_head_like_get(route.resource)
        app.add_route(route.path_under(spec.segment if spec else route.format), route.resource)


def answer_head_like_get(resource: Any) -> None:
    """Give a resource that answers GET and declares no HEAD one that runs the GET.

    Every client may ask HEAD where it may GET (Helm and Go tooling probe
    with it); falcon sends the GET's status and headers without the body and,
    when the GET set no ``Content-Length``, the length of the body it left out.
    """
    on_get = getattr(resource, "on_get", None)
    if on_get is not None and getattr(resource, "on_head", None) is None:
        resource.on_head = on_get
