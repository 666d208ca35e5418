"""The public plugin API: the only part of Artifortress a plugin may import.

Everything a format plugin needs is re-exported here; importing any other
``artifortress`` module from a plugin fails the lint contract in ``make test``.
A plugin declares its format and routes through hooks (``artifortress.hookspecs``),
declares what each responder needs with :func:`requires` or :func:`public`,
and does its work through a :class:`Gateway` bound to the request.
"""

from __future__ import annotations

from artifortress import hookimpl
from artifortress.auth.principal import Principal
from artifortress.documents.services import Rendered
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
from artifortress.formats import FormatSpec, PluginRoute
from artifortress.http.body import read_json
from artifortress.http.permissions import authenticated, public, requires
from artifortress.outbox.events import Event
from artifortress.plugin.gateway import Gateway
from artifortress.plugin.translation import error_for_status, raised_as
from artifortress.plugin.views import (
    ArtifactInfo,
    BlobRef,
    NewFile,
    PackageInfo,
    RepoInfo,
    TokenInfo,
    VersionInfo,
)
from artifortress.policy.decisions import PolicyDecision, PolicyRequest
from artifortress.rbac.permissions import Permission
from artifortress.search.views import SearchHit, SearchResults
from artifortress.versions.validation import clean_name

__all__ = [
    "ArtifactInfo",
    "ArtifortressError",
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
    "Principal",
    "Rendered",
    "RepoInfo",
    "SearchHit",
    "SearchResults",
    "ServiceUnavailable",
    "TokenInfo",
    "Unauthenticated",
    "UnsupportedMediaType",
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
