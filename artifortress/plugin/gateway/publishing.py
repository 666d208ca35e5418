"""Publishing versions and their lifecycle: yank, deprecate, delete, restore, promote, labels.

Each changes content of a hosted repository only: remote and virtual ones
answer 405 (a plugin sends a virtual's uploads to ``upload_target()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artifortress.errors import Conflict
from artifortress.http.permissions import authorize
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.plugin.gateway.transactions import writes
from artifortress.rbac.permissions import Permission
from artifortress.repos.kinds import refuse_unless_hosted
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
        refuse_unless_hosted(repo.kind, repo.key)
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
        refuse_unless_hosted(repo.kind, repo.key)
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
        refuse_unless_hosted(repo.kind, repo.key)
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), True, reason
        )

    @writes
    def unyank(self, repo: RepoInfo, name: str, version: str) -> None:
        refuse_unless_hosted(repo.kind, repo.key)
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), False
        )

    @writes
    def deprecate(self, repo: RepoInfo, name: str, version: str, message: str | None) -> None:
        """Deprecate with *message*, or un-deprecate with ``None``."""
        refuse_unless_hosted(repo.kind, repo.key)
        lifecycle.set_deprecated(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), message
        )

    @writes
    def delete_version(self, repo: RepoInfo, name: str, version: str) -> None:
        """Tombstone delete: hidden at once; its number is never reused."""
        refuse_unless_hosted(repo.kind, repo.key)
        lifecycle.tombstone(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version)
        )

    @writes
    def restore(self, repo: RepoInfo, name: str, version: str) -> VersionInfo:
        """Bring back a deleted *version* within the retention window, as ``POST .../restore``.

        Needs ``admin`` on *repo*, whatever the responder declared (403
        otherwise); 404 if the version is not deleted, 410 once the retention
        (``ARTIFORTRESS_TOMBSTONE_RETENTION``) has passed.
        """
        refuse_unless_hosted(repo.kind, repo.key)
        authorize(self._req, repo.key, Permission.ADMIN)
        found = queries.tombstoned_version(self._ctx.db, repo, name, version)
        retention = self._ctx.services.settings.tombstone_retention
        return version_info(lifecycle.restore(self._ctx.db, self._ctx.caller, found, retention))

    @writes
    def promote(self, repo: RepoInfo, name: str, version: str, target: RepoInfo) -> VersionInfo:
        """Copy published *version* into *target* by reference, as ``POST .../promote``.

        Needs ``promote`` on *repo* and ``write`` on *target*, whatever the
        responder declared (403 otherwise); 400 across formats, 409 if *target*
        has (or had) the number. The target's policies judge the copy as a
        publish there: ``PolicyRejected`` copies nothing, a quarantine returns
        the copy in state ``quarantined``, invisible until released.
        """
        refuse_unless_hosted(target.kind, target.key)
        authorize(self._req, repo.key, Permission.PROMOTE)
        authorize(self._req, target.key, Permission.WRITE)
        copy = lifecycle.promote(
            self._ctx.db,
            self._ctx.caller,
            self._repo(repo),
            self._require_version(repo, name, version),
            self._repo(target),
            self._ctx.services.plugins,
        )
        return version_info(copy)

    @writes
    def lock_package(self, repo: RepoInfo, name: str) -> None:
        """Begin the write transaction and hold package *name* until the request ends.

        For a change computed from what was read: a responder that read and
        checked in reading transactions (``publishes=True``) calls it, reads
        again what its change depends on and, if that changed meanwhile,
        refuses (409) instead of overwriting a concurrent change. Two requests
        that lock the same package run one after the other from here: keep
        what follows short.
        """
        refuse_unless_hosted(repo.kind, repo.key)
        queries.lock_package(self._ctx.db, repo.id, name)

    @writes
    def set_label(self, repo: RepoInfo, name: str, label: str, version: str) -> None:
        refuse_unless_hosted(repo.kind, repo.key)
        labels.set_label(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), label
        )

    @writes
    def delete_label(self, repo: RepoInfo, name: str, label: str) -> None:
        refuse_unless_hosted(repo.kind, repo.key)
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
