"""The kinds of repository: where its content comes from."""

from __future__ import annotations

from artifortress.errors import MethodNotAllowed
from artifortress.rbac.permissions import Permission

#: Content uploaded to it (the original kind).
HOSTED = "hosted"
#: A cache of an upstream registry, filled on demand; refuses uploads.
REMOTE = "remote"
#: The union of other repositories of its format, in order; holds nothing itself.
VIRTUAL = "virtual"

KINDS = (HOSTED, REMOTE, VIRTUAL)

#: What a caller may never do in a repository of each kind, whoever they are: a
#: remote's content comes from its upstream only; a virtual holds nothing to promote.
#: (``write`` on a virtual lets its upload URLs send uploads to a hosted member.)
_NEVER: dict[str, frozenset[Permission]] = {
    HOSTED: frozenset(),
    REMOTE: frozenset({Permission.WRITE}),
    VIRTUAL: frozenset({Permission.PROMOTE}),
}


def refuse_by_kind(kind: str, key: str, permission: Permission) -> None:
    """405 if no one may use *permission* on a repository of *kind*."""
    if permission in _NEVER.get(kind, frozenset()):
        raise MethodNotAllowed(f"{_what(kind, key)}: it takes no {permission} requests")


def refuse_change_through(kind: str, key: str) -> None:
    """405 for a change (delete, yank, label...) addressed to a virtual repository.

    Only uploads pass through a virtual (to a hosted member); what changes a
    stored package is asked of the hosted repository that holds it.
    """
    if kind == VIRTUAL:
        raise MethodNotAllowed(
            f"{_what(kind, key)}: change packages in the hosted repository that holds them"
        )


def refuse_storage(kind: str, key: str) -> None:
    """405 unless a repository of *kind* stores content (a virtual only shows its members')."""
    if kind == VIRTUAL:
        raise MethodNotAllowed(
            f"{_what(kind, key)}: it stores nothing itself; upload to one of its hosted members"
        )


def refuse_unless_hosted(kind: str, key: str) -> None:
    """405 for a caller's change of content in a remote or virtual repository."""
    if kind != HOSTED:
        raise MethodNotAllowed(
            f"{_what(kind, key)}: its content cannot be uploaded or changed; "
            "do that in a hosted repository"
        )


def _what(kind: str, key: str) -> str:
    if kind == REMOTE:
        return f"repository {key!r} is a remote repository (a cache of its upstream)"
    return f"repository {key!r} is a {kind} repository"
