"""The read-only view of a repository handed to plugins and policies (never the ORM row)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from artifortress.repos.models import Repository
    from artifortress.repos.services import RepoRef


@dataclasses.dataclass(frozen=True)
class RepoInfo:
    id: int
    key: str
    format: str
    public: bool
    description: str


def repo_info(repo: Repository | RepoRef) -> RepoInfo:
    return RepoInfo(repo.id, repo.key, repo.format, repo.public, repo.description)
