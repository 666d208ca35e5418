"""What serving a remote or virtual repository reads on every request, kept per process.

A virtual's flattened members and merge patterns, and a remote's upstream
(its password decrypted), change only when someone reconfigures a repository,
yet reading them took several queries per request (a virtual nested in a
virtual, one per level) and a decryption per hit. They are kept here for at
most the token cache's bound (``ARTIFORTRESS_TOKEN_CACHE_SECONDS``, one second
by default), the promise already made for revocation: a change takes effect at
once in the process that commits it and within that bound on every other one.
A bound of 0 reads them on every request.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from artifortress.db.engine import SessionOrOpener, session_of
from artifortress.repos.kinds import VIRTUAL
from artifortress.repos.upstreams import Upstream, upstream_of
from artifortress.repos.views import RepoInfo, RepoRef, repo_ref
from artifortress.repos.virtuals import flattened_members, merge_patterns

T = TypeVar("T")

#: Set on a session whose transaction changed a repository's configuration.
_CHANGED = "artifortress.layouts.changed"
#: Bumped after such a transaction commits: every cached layout of this process is stale.
_generation = 0


@dataclasses.dataclass(frozen=True)
class VirtualLayout:
    """A virtual repository as its requests read it."""

    #: The hosted and remote repositories behind it, in lookup order (flattened).
    members: tuple[RepoRef, ...]
    #: Package name patterns that merge despite a hosted claim.
    merge_patterns: tuple[str, ...]


class Layouts:
    """The per-process cache of virtual layouts and remote upstreams."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[tuple[str, int], tuple[float, int, object]] = {}
        self._lock = threading.Lock()

    def virtual(self, db: SessionOrOpener, repo: RepoInfo) -> VirtualLayout:
        """The layout of *repo* (a non-virtual repository is its own only member).

        *db* may be a function opening the session: a kept layout then opens none.
        """
        return self._kept("virtual", repo, lambda: _read_layout(session_of(db), repo))

    def upstream(self, db: SessionOrOpener, repo: RepoInfo) -> Upstream:
        """The upstream of remote *repo*; 409 for another kind (never kept)."""
        return self._kept("upstream", repo, lambda: upstream_of(session_of(db), repo))

    def _kept(self, kind: str, repo: RepoInfo, read: Callable[[], T]) -> T:
        if self._seconds <= 0:
            return read()
        now, generation = time.monotonic(), _generation
        with self._lock:
            entry = self._entries.get((kind, repo.id))
        if entry is not None and entry[0] > now and entry[1] == generation:
            return entry[2]  # type: ignore[return-value]
        value = read()
        with self._lock:
            self._entries[(kind, repo.id)] = (now + self._seconds, generation, value)
        return value


def _read_layout(db: Session, repo: RepoInfo) -> VirtualLayout:
    members = tuple(repo_ref(member) for member in flattened_members(db, repo))
    patterns = merge_patterns(db, repo) if repo.kind == VIRTUAL else ()
    return VirtualLayout(members, patterns)


def changed(db: Session) -> None:
    """Note that *db*'s transaction reconfigures a repository (kind, members, upstream, flags).

    Once it commits, this process reads every layout afresh (a transaction
    that rolls back leaves the note for the session's next commit: one
    needless re-read, never a stale layout).
    """
    db.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _committed(db: Session) -> None:
    global _generation
    if db.info.pop(_CHANGED, False):
        _generation += 1
