"""Hook implementations: the ``helm`` format and its routes."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_helm.resources import (
    ChartResource,
    ChartVersionResource,
    IndexResource,
    UploadResource,
)

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.3,<2"  # 1.3: remote repositories


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FormatSpec(name="helm", description="Helm chart repository (example plugin)")]


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    return [
        PluginRoute("helm", "/index.yaml", IndexResource()),
        PluginRoute("helm", "/charts/{filename}", ChartResource()),
        PluginRoute("helm", "/api/charts", UploadResource()),
        PluginRoute("helm", "/api/charts/{name}/{version}", ChartVersionResource()),
    ]
