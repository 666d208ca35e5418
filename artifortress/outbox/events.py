"""Event types, the read-only :class:`Event` handed to handlers, and payload builders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artifortress.auth.principal import Caller
    from artifortress.repos.models import Repository
    from artifortress.versions.models import Version

REPOSITORY_CREATED = "repository.created"
REPOSITORY_UPDATED = "repository.updated"
REPOSITORY_DELETED = "repository.deleted"
VERSION_PUBLISHED = "version.published"
VERSION_FILES_ADDED = "version.files_added"
VERSION_QUARANTINED = "version.quarantined"
QUARANTINE_RELEASED = "quarantine.released"
QUARANTINE_REJECTED = "quarantine.rejected"
LABEL_SET = "label.set"
LABEL_DELETED = "label.deleted"

#: The event of each audited lifecycle action (``changes.Change.version_changed``).
ACTION_EVENTS = {
    "version.yank": "version.yanked",
    "version.unyank": "version.unyanked",
    "version.deprecate": "version.deprecated",
    "version.undeprecate": "version.undeprecated",
    "version.delete": "version.deleted",
    "version.restore": "version.restored",
    "version.promote": "version.promoted",
}

#: Every event type the core emits (webhook subscriptions choose among these).
EVENT_TYPES = (
    REPOSITORY_CREATED,
    REPOSITORY_UPDATED,
    REPOSITORY_DELETED,
    VERSION_PUBLISHED,
    VERSION_FILES_ADDED,
    *ACTION_EVENTS.values(),
    VERSION_QUARANTINED,
    QUARANTINE_RELEASED,
    QUARANTINE_REJECTED,
    LABEL_SET,
    LABEL_DELETED,
)


@dataclasses.dataclass(frozen=True)
class Event:
    """One committed state change, as handlers of ``artifortress_on_event`` receive it.

    Delivery is at least once: the same event may reach a handler again (after
    a crash or a failure of that handler), so handlers must be idempotent;
    ``id`` is stable and serves as a deduplication key.
    """

    id: int
    type: str
    tenant_id: int
    #: The repository key the change happened in (``None`` for tenant-wide events).
    repo: str | None
    payload: Mapping[str, Any]
    created_at: dt.datetime
    #: 1 on the first delivery, higher on retries.
    attempt: int


def version_payload(
    version: Version, repo: Repository | None, caller: Caller | None, **details: Any
) -> dict[str, Any]:
    """What every version event carries: where, which, who, plus *details*."""
    package = version.package
    return {
        "repo": repo.key if repo is not None else None,
        "repository_id": version.repository_id,
        "format": package.format,
        "package": package.name,
        "display_name": package.display_name,
        "package_id": package.id,
        "version": version.version,
        "version_id": version.id,
        "state": version.state,
        "actor": caller.principal.name if caller is not None else None,
        **details,
    }
