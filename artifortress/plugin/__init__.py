"""The public plugin API: the only part of Artifortress a plugin may import.

Everything a format plugin needs is re-exported here; importing any other
``artifortress`` module from a plugin fails the lint contract in ``make test``.
A plugin declares its format and routes through hooks (``artifortress.hookspecs``),
declares what each responder needs with :func:`requires` or :func:`public`,
and does its work through a :class:`Gateway` bound to the request.

``API_VERSION`` versions this surface (see "API versions and deprecation" in
docs/plugins.md); a renamed name keeps working under its old name, with a
``DeprecationWarning``, until the next major version.
"""

from __future__ import annotations

import warnings

from artifortress import hookimpl
from artifortress.attestations.identity import SigningIdentity
from artifortress.attestations.results import AttestationResult
from artifortress.auth.principal import Principal
from artifortress.auth.views import TokenInfo
from artifortress.errors import (
    ArtifortressError,
    BadRequest,
    Conflict,
    Gone,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PolicyRejected,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)
from artifortress.formats import FormatSpec, PluginRoute, Prefetch
from artifortress.http.body import read_json
from artifortress.http.permissions import authenticated, public, requires
from artifortress.outbox.events import Event
from artifortress.plugin.api_version import API_VERSION, API_VERSION_INFO
from artifortress.plugin.gateway import Gateway
from artifortress.plugin.translation import error_for_status, raised_as
from artifortress.policy.decisions import PolicyDecision, PolicyRequest
from artifortress.rbac.permissions import Permission
from artifortress.recent import RecentCache
from artifortress.remote.documents import UpstreamDocument
from artifortress.remote.errors import UpstreamMismatch, UpstreamUnavailable
from artifortress.renderings.store import Rendered
from artifortress.repos.kinds import HOSTED, REMOTE, VIRTUAL
from artifortress.repos.views import RepoInfo
from artifortress.search.views import SearchHit, SearchResults
from artifortress.versions.validation import clean_name
from artifortress.versions.views import ArtifactInfo, BlobRef, NewFile, PackageInfo, VersionInfo

__all__ = [
    "API_VERSION",
    "API_VERSION_INFO",
    "HOSTED",
    "REMOTE",
    "VIRTUAL",
    "ArtifactInfo",
    "ArtifortressError",
    "AttestationResult",
    "BadRequest",
    "BlobRef",
    "Conflict",
    "Event",
    "FormatSpec",
    "Gateway",
    "Gone",
    "NewFile",
    "NotFound",
    "PackageInfo",
    "PayloadTooLarge",
    "Permission",
    "PermissionDenied",
    "PluginRoute",
    "PolicyDecision",
    "PolicyRejected",
    "PolicyRequest",
    "Prefetch",
    "Principal",
    "RecentCache",
    "Rendered",
    "RepoInfo",
    "SearchHit",
    "SearchResults",
    "ServiceUnavailable",
    "SigningIdentity",
    "TokenInfo",
    "Unauthenticated",
    "UnsupportedMediaType",
    "UpstreamDocument",
    "UpstreamMismatch",
    "UpstreamUnavailable",
    "ValidationFailed",
    "VersionInfo",
    "authenticated",
    "clean_name",
    "error_for_status",
    "hookimpl",
    "public",
    "raised_as",
    "read_json",
    "requires",
]

# Old name -> current name. An entry stays (and the old name stays in __all__ and
# in tests/unit/test_plugin_api_names.py) until the next major API version.
_DEPRECATED_ALIASES: dict[str, str] = {}


def __getattr__(name: str) -> object:
    """Serve a deprecated name, warning the plugin author which name replaces it."""
    current = _DEPRECATED_ALIASES.get(name)
    if current is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"artifortress.plugin.{name} is deprecated, use artifortress.plugin.{current}; "
        f"it goes away in plugin API {API_VERSION_INFO[0] + 1}.0.0",
        DeprecationWarning,
        stacklevel=2,
    )
    return globals()[current]
