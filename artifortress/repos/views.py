"""Read-only views of a repository, never the ORM row.

``RepoInfo`` is what plugins and policies see; ``RepoRef`` is what authorizing a request reads.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from artifortress.repos.kinds import HOSTED

if TYPE_CHECKING:
    from artifortress.repos.models import Repository


@dataclasses.dataclass(frozen=True)
class RepoInfo:
    id: int
    key: str
    format: str
    public: bool
    description: str
    #: hosted, remote or virtual (:mod:`artifortress.repos.kinds`).
    kind: str = HOSTED


@dataclasses.dataclass(frozen=True, slots=True)
class RepoRef:
    """What authorizing a request needs of a repository, read as a plain row.

    Every request resolves one; loading it through the ORM (identity map,
    instance state, events) cost more than the query itself.  Responders that
    change the repository load the entity by id (``RequestContext.repo``).
    """

    id: int
    tenant_id: int
    key: str
    format: str
    public: bool
    description: str
    kind: str


def repo_info(repo: Repository | RepoRef) -> RepoInfo:
    return RepoInfo(repo.id, repo.key, repo.format, repo.public, repo.description, repo.kind)


def repo_ref(repo: Repository) -> RepoRef:
    return RepoRef(
        repo.id, repo.tenant_id, repo.key, repo.format, repo.public, repo.description, repo.kind
    )
