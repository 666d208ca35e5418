"""Publishing versions and changing them afterwards (yank, deprecate, delete, labels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artifortress.errors import Conflict
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.plugin.gateway.transactions import writes
from artifortress.repos.views import RepoInfo
from artifortress.versions import drafts, labels, lifecycle, queries
from artifortress.versions.views import NewFile, VersionInfo, version_info


class PublishingGateway(GatewayBase):
    """Publishing versions and their lifecycle afterwards."""

    @writes
    def publish(
        self,
        repo: RepoInfo,
        name: str,
        version: str,
        files: Sequence[NewFile],
        *,
        metadata: dict[str, Any] | None = None,
        display_name: str | None = None,
        labels: Sequence[str] = (),
    ) -> VersionInfo:
        """Create, fill and publish a version as one unit: all of it or none (409 if it exists).

        *labels* (npm dist-tags) then point at the new version, in the same
        unit; if a repository policy held the version back, when it is released.
        """
        db, caller, orm_repo = self._ctx.db, self._ctx.caller, self._repo(repo)
        db.flush()
        with db.begin_nested():  # on any error the draft is discarded with the savepoint
            draft = drafts.create_draft(
                db,
                caller,
                orm_repo,
                package=name,
                version=version,
                display_name=display_name,
                metadata=metadata,
                ttl_seconds=self._ctx.services.settings.draft_ttl,
                files=[_artifact_input(new) for new in files],
            )
            plugins = self._ctx.services.plugins  # the repository's policies judge it
            published = drafts.publish(db, caller, orm_repo, draft, plugins, labels)
            return version_info(published)

    @writes
    def append_files(
        self, repo: RepoInfo, name: str, version: str, files: Sequence[NewFile]
    ) -> VersionInfo:
        """Add new files to a published version, for formats that allow it (PyPI)."""
        spec = self._ctx.services.formats.get(repo.format)
        if spec is None or not spec.append_files:
            raise Conflict(f"{repo.format} versions take no files after publication")
        found = self._require_version(repo, name, version)
        plugins = self._ctx.services.plugins  # the repository's policies judge new files too
        entries = [_artifact_input(new) for new in files]
        drafts.add_artifacts(self._ctx.db, self._ctx.caller, found, entries, plugins)
        return version_info(found)

    # -- lifecycle -----------------------------------------------------------------

    @writes
    def yank(self, repo: RepoInfo, name: str, version: str, reason: str | None = None) -> None:
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), True, reason
        )

    @writes
    def unyank(self, repo: RepoInfo, name: str, version: str) -> None:
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), False
        )

    @writes
    def deprecate(self, repo: RepoInfo, name: str, version: str, message: str | None) -> None:
        """Deprecate with *message*, or un-deprecate with ``None``."""
        lifecycle.set_deprecated(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), message
        )

    @writes
    def delete_version(self, repo: RepoInfo, name: str, version: str) -> None:
        """Tombstone delete: hidden at once; its number is never reused."""
        lifecycle.tombstone(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version)
        )

    @writes
    def set_label(self, repo: RepoInfo, name: str, label: str, version: str) -> None:
        labels.set_label(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), label
        )

    @writes
    def delete_label(self, repo: RepoInfo, name: str, label: str) -> None:
        package = queries.get_package(self._ctx.db, repo, name)
        labels.delete_label(self._ctx.db, self._ctx.caller, self._repo(repo), package, label)


def _artifact_input(new: NewFile) -> drafts.ArtifactInput:
    return drafts.ArtifactInput(
        filename=new.filename,
        digest=new.blob.digest,
        size=new.blob.size,
        media_type=new.media_type,
        metadata=dict(new.metadata),
    )
