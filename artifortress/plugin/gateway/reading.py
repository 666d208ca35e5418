"""Reading published packages, versions and labels, and searching."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from artifortress.plugin.gateway.base import GatewayBase
from artifortress.policy.services import get_config
from artifortress.repos.services import list_readable
from artifortress.repos.views import RepoInfo, repo_info
from artifortress.search.services import search as search_packages
from artifortress.search.views import SearchResults
from artifortress.versions import labels, lookups, queries
from artifortress.versions.models import PUBLISHED, TOMBSTONED
from artifortress.versions.views import PackageInfo, VersionInfo, version_info


class ReadingGateway(GatewayBase):
    """What is published: packages, versions, labels, search."""

    def packages(self, repo: RepoInfo) -> list[PackageInfo]:
        """Packages with at least one published version, by name."""
        rows = queries.live_packages(self._ctx.db, repo.id)
        return [PackageInfo(p.name, p.display_name) for p in rows]

    def versions(
        self, repo: RepoInfo, name: str, *, include_deleted: bool = False, light: bool = False
    ) -> list[VersionInfo]:
        """Published versions of *name* (and deleted ones if asked), oldest first.

        *light* (API 1.5) leaves out each version's ``metadata`` (``{}``) and
        ``artifacts`` (``()``): one query of a few columns, for a caller that
        keeps what it derived from a version's metadata, which never changes
        once published (its state, deprecation and yank flags do, and come).
        """
        package = queries.find_package(self._ctx.db, repo.id, name)
        if package is None:
            return []
        states = (PUBLISHED, TOMBSTONED) if include_deleted else (PUBLISHED,)
        if light:
            rows = queries.light_versions_of(self._ctx.db, package, states)
            return [_light_info(package.name, package.display_name, row) for row in rows]
        return [version_info(v) for v in queries.versions_of(self._ctx.db, package, states)]

    def version(self, repo: RepoInfo, name: str, version: str) -> VersionInfo | None:
        found = queries.find_version(self._ctx.db, repo.id, name, version)
        return version_info(found) if found is not None else None

    def version_with_file(
        self, repo: RepoInfo, name: str, filename: str, *, include_deleted: bool = False
    ) -> VersionInfo | None:
        """The version of *name* that has a file named *filename* (deleted ones too if asked).

        One indexed lookup, however long the package's history: the check
        "was this file name ever used?" of formats that never reuse names.
        """
        states = (PUBLISHED, TOMBSTONED) if include_deleted else (PUBLISHED,)
        found = lookups.version_holding(self._ctx.db, repo.id, name, filename, states)
        return version_info(found) if found is not None else None

    def sealed_versions(self, repo: RepoInfo, name: str, versions: Iterable[str]) -> dict[str, str]:
        """Which of *versions* of *name* were ever published, each with its state now.

        States: ``published``, ``tombstoned``, ``quarantined`` or ``rejected``; a
        number missing from the answer was never used. The cost follows the
        numbers asked about, not how many versions the package has.
        """
        return lookups.sealed_states(self._ctx.db, repo.id, name, list(versions))

    def labels(self, repo: RepoInfo, name: str) -> dict[str, str]:
        """``{label: version}`` of the package's labels that point at published versions."""
        return labels.labels_named(self._ctx.db, repo.id, name)

    def readable_repositories(self, format: str | None = None) -> list[RepoInfo]:
        """The repositories the caller may read (of *format* only, if given), by key."""
        found: list[RepoInfo] = []
        cursor: str | None = None
        while True:
            page, cursor = list_readable(self._ctx.db, self.principal, cursor=cursor, limit=500)
            found += [repo_info(r) for r in page if format is None or r.format == format]
            if cursor is None:
                return found

    def policy_settings(self, repo: RepoInfo) -> dict[str, Any]:
        """The repository's policy settings (``PUT /v1/repos/{repo}/policy``), defaults filled.

        A format's own options live under ``extra`` (the OCI plugin reads
        ``extra.immutable_tags``); the answer is a copy.
        """
        return copy.deepcopy(get_config(self._ctx.db, repo.id))

    def search(
        self,
        text: str,
        *,
        repo: RepoInfo | None = None,
        format: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResults:
        """Packages matching *text* that the caller may read, best first (``npm search``).

        Every word must match (as a prefix too); *repo* and *format* narrow it.
        Raises :class:`ServiceUnavailable` (503) while the search index is unusable.
        """
        return search_packages(
            self._ctx.db,
            self.principal,
            text,
            format=format,
            repo=repo.key if repo is not None else None,
            offset=offset,
            limit=limit,
        )


def _light_info(name: str, display_name: str, row: Any) -> VersionInfo:
    version, state, published_at, published_by, yanked, yank_reason, deprecated, gone = row
    return VersionInfo(
        package=name,
        display_name=display_name,
        version=version,
        state=state,
        metadata={},
        published_at=published_at,
        published_by=published_by,
        yanked=yanked,
        yank_reason=yank_reason,
        deprecated=deprecated,
        tombstoned_at=gone,
        artifacts=(),
    )
