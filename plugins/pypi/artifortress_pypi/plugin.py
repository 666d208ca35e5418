"""Hook implementations of the pypi format: pip, uv, poetry and twine against the gateway."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_pypi.files import FileResource
from artifortress_pypi.names import normalize
from artifortress_pypi.pages import (
    IndexResource,
    JsonProjectResource,
    JsonReleaseResource,
    ProjectResource,
)
from artifortress_pypi.prefetch import requirements
from artifortress_pypi.protocol import render_error
from artifortress_pypi.upload import UploadResource

FORMAT = FormatSpec(
    name="pypi",
    description="Python packages: PEP 503/691 simple index and twine uploads",
    render_error=render_error,
    append_files=True,  # a release gains wheels over several uploads, as on PyPI
    prefetch=requirements,  # artifortress remote prefetch: pinned requirements
)

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.4,<2"  # 1.4: verify_attestation (1.3: remote and virtual repositories)


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]


@hookimpl
def artifortress_normalize_name(format: str, name: str) -> str | None:
    return normalize(name) if format == FORMAT.name else None


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    upload = UploadResource()
    project = ProjectResource()
    return [
        PluginRoute("pypi", "/simple/", IndexResource()),
        PluginRoute("pypi", "/simple/{project}/", project),
        PluginRoute("pypi", "/simple/{project}", project),
        PluginRoute("pypi", "/files/{project}/{version}/{filename}", FileResource()),
        # Never redirect the upload URL: twine, poetry and uv all fail on it.
        PluginRoute("pypi", "/legacy/", upload),
        PluginRoute("pypi", "/legacy", upload),
        PluginRoute("pypi", "/pypi/{project}/json", JsonProjectResource()),
        PluginRoute("pypi", "/pypi/{project}/{version}/json", JsonReleaseResource()),
    ]
