"""The registry token flow clients expect (pure): challenges and scopes.

A 401 carries ``WWW-Authenticate: Bearer realm=<token URL>,service=<host>,scope=...``;
the client asks the realm for a token with its credentials (Basic, a personal
access token as password, or none) and the scopes it needs, then sends
``Authorization: Bearer <token>``. The token only narrows the caller (to the
repositories of its scopes, read-only without push or delete); RBAC decides
on every request as for any other credential.
"""

from __future__ import annotations

import dataclasses
import re

TOKEN_PATH = "/v2/_token"
#: Docker's default; clients ask again when it runs out.
TOKEN_TTL_SECONDS = 300

_NAMED = re.compile(r"^/v2/(?P<name>.+?)/(?:manifests|blobs|tags|referrers)(?:/|$)")
_WRITING_METHODS = frozenset({"POST", "PUT", "PATCH"})
_WRITING_ACTIONS = frozenset({"push", "delete", "*"})


CATALOG_PATH = "/v2/_catalog"
CATALOG_SCOPE = "registry:catalog:*"


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a token request asks for: repository keys, and whether anything but pull.

    ``repos`` is ``None`` when the catalog is asked for: it lists every
    repository the caller may read, so the token is not narrowed to some.
    """

    repos: frozenset[str] | None
    writes: bool


def parse_scopes(values: list[str]) -> Scope:
    """``repository:<name>:<actions>`` and catalog items (space-separated too); others ignored."""
    repos: set[str] = set()
    writes = catalog = False
    for item in (part for value in values for part in value.split()):
        kind, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        catalog = catalog or item == CATALOG_SCOPE
        if kind != "repository" or not name:
            continue
        repos.add(name.split("/", 1)[0])
        writes = writes or bool(_WRITING_ACTIONS & set(actions.split(",")))
    return Scope(None if catalog else frozenset(repos), writes)


def challenge(realm: str, service: str, path: str, method: str) -> str:
    """The ``WWW-Authenticate`` value of a 401 for *method* on *path*."""
    value = f'Bearer realm="{realm}",service="{service}"'
    named = _NAMED.match(path)
    if named is not None:
        actions = "delete" if method == "DELETE" else "pull"
        if method in _WRITING_METHODS:
            actions = "pull,push"
        value += f',scope="repository:{named["name"]}:{actions}"'
    elif path == CATALOG_PATH:
        value += f',scope="{CATALOG_SCOPE}"'
    return value
