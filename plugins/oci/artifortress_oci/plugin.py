"""The oci format: container images and OCI artifacts, served at ``/v2/`` as registries are.

Clients require the root path ``/v2/``, so the format mounts its routes there
(``FormatSpec.mount``); an image name's first component is the repository.
"""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_oci.errors import render_error
from artifortress_oci.registry import FORMAT_NAME, RegistryResource
from artifortress_oci.root import TokenResource, VersionCheckResource

FORMAT = FormatSpec(
    name=FORMAT_NAME,
    description="Container images and OCI artifacts (docker, podman, skopeo, oras)",
    render_error=render_error,
    mount="v2",
)

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.3,<2"  # 1.3: FormatSpec.mount, per_repo routes, Gateway blob links


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    return [
        PluginRoute(FORMAT_NAME, "/", VersionCheckResource(), per_repo=False),
        PluginRoute(FORMAT_NAME, "/_token", TokenResource(), per_repo=False),
        PluginRoute(FORMAT_NAME, "/{rest:path}", RegistryResource()),
    ]
