"""The oci format: container images and OCI artifacts, served at ``/v2/`` as registries are.

Clients require the root path ``/v2/``, so the format mounts its routes there
(``FormatSpec.mount``); an image name's first component is the repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from artifortress.plugin import FormatSpec, PluginRoute, VersionInfo, hookimpl
from artifortress_oci.names import FORMAT_NAME
from artifortress_oci.registry import RegistryResource
from artifortress_oci.rendering import render_error
from artifortress_oci.root import CatalogResource, TokenResource, VersionCheckResource

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
        PluginRoute(FORMAT_NAME, "/_catalog", CatalogResource(), per_repo=False),
        PluginRoute(FORMAT_NAME, "/{rest:path}", RegistryResource()),
    ]


#: The image's own words in search: a full-text index may take ``team/app`` as one token.
_NAME_PARTS = re.compile(r"[/._-]+")
_DESCRIBED_BY = ("org.opencontainers.image.description", "org.opencontainers.image.title")


@hookimpl
def artifortress_search_fields(format: str, version: VersionInfo) -> Mapping[str, Any] | None:
    """Keywords from the image name's components, a summary from its annotations."""
    if format != FORMAT_NAME:
        return None
    annotations = version.metadata.get("annotations") or {}
    summary = next((annotations[k] for k in _DESCRIBED_BY if annotations.get(k)), "")
    return {"keywords": _NAME_PARTS.split(version.package), "summary": summary}
