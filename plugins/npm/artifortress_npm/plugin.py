"""Hook implementations of the npm format: npm, pnpm and yarn against the gateway."""

from __future__ import annotations

from collections.abc import Sequence

from artifortress.plugin import FormatSpec, PluginRoute, hookimpl
from artifortress_npm.accounts import (
    LegacyLoginResource,
    LogoutResource,
    TokenResource,
    TokensResource,
    WebLoginResource,
    WhoAmIResource,
)
from artifortress_npm.misc import (
    AuditResource,
    DistTagsResource,
    PingResource,
    RootResource,
    SearchResource,
)
from artifortress_npm.packages import PackageResource
from artifortress_npm.prefetch import package_lock
from artifortress_npm.protocol import render_error

FORMAT = FormatSpec(
    name="npm",
    description="npm registry for npm, pnpm and yarn",
    render_error=render_error,
    prefetch=package_lock,  # artifortress remote prefetch: a package-lock.json
)

# The plugin API versions this plugin works with (docs/plugins.md, "API versions").
ARTIFORTRESS_API = ">=1.5,<2"  # 1.5: versions(light=True); 1.4: verify_attestation


@hookimpl
def artifortress_formats() -> Sequence[FormatSpec]:
    return [FORMAT]


@hookimpl
def artifortress_routes() -> Sequence[PluginRoute]:
    def route(template: str, resource: object) -> PluginRoute:
        return PluginRoute("npm", template, resource)

    return [
        route("/", RootResource()),
        route("/-/ping", PingResource()),
        route("/-/whoami", WhoAmIResource()),
        route("/-/v1/login", WebLoginResource()),
        route("/-/user/org.couchdb.user:{user}", LegacyLoginResource()),
        route("/-/user/token/{token}", LogoutResource()),
        route("/-/npm/v1/tokens", TokensResource()),
        route("/-/npm/v1/tokens/token/{key}", TokenResource()),
        route("/-/v1/search", SearchResource()),
        route("/-/npm/v1/security/advisories/bulk", AuditResource(quick=False)),
        route("/-/npm/v1/security/audits/quick", AuditResource(quick=True)),
        route("/-/package/{path:path}", DistTagsResource()),
        route("/{path:path}", PackageResource()),
    ]
