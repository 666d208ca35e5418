"""Hook implementations: the ``go`` format and its one catch-all route."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_goproxy.resources import ModuleResource, render_error

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.2,<2"  # 1.1: @requires(..., publishes=True); 1.2: HEAD by itself


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [
        FormatSpec(
            name="go",
            description="Go module proxy (GOPROXY protocol; example plugin)",
            render_error=render_error,
        )
    ]


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    # Module paths hold slashes, so one route takes the whole rest of the URL.
    return [PluginRoute("go", "/{path:path}", ModuleResource())]
