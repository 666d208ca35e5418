"""The generic format: any file, stored by path, uploaded with curl.

This is the reference plugin: a third party starts by copying it.
"""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_generic.prefetch import paths
from artifortress_generic.resources import FileResource

FORMAT = FormatSpec(
    name="generic",
    description="Any file, stored by path with curl",
    append_files=True,  # a version collects files over several PUTs
    prefetch=paths,  # artifortress remote prefetch: a list of paths
)

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.3,<2"  # 1.3: remote repositories, FormatSpec.prefetch


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    resource = FileResource()
    return [
        PluginRoute("generic", "/", resource),
        PluginRoute("generic", "/{path:path}", resource),
    ]
