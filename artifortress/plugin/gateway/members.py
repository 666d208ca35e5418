"""Repository kinds as a plugin sees them: where a virtual reads from and where uploads go.

The dependency-confusion guard lives here, once, for every format: in a
virtual repository, a package name that any hosted member publishes is served
from hosted members only, so an upstream can never shadow or extend a private
name, unless the virtual's merge patterns let that name merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from artifortress.errors import MethodNotAllowed, PermissionDenied
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on
from artifortress.repos.kinds import HOSTED, REMOTE, VIRTUAL
from artifortress.repos.layouts import VirtualLayout
from artifortress.repos.views import RepoInfo, RepoRef, repo_info
from artifortress.versions import queries


class MembersGateway(GatewayBase):
    """Members of virtual repositories, the guard over them, and the target of uploads."""

    def members(self, repo: RepoInfo) -> list[RepoInfo]:
        """The repositories *repo* serves from, in order, that the caller may read.

        A hosted or remote repository is its own only member; a virtual one
        has its members flattened (virtual members replaced by theirs).
        """
        if repo.kind != VIRTUAL:
            return [repo]
        return self._readable(self._layout(repo).members)

    def sources(self, repo: RepoInfo, name: str) -> list[RepoInfo]:
        """The members of *repo* that may serve package *name*, in order, readable by the caller.

        If any hosted member has a version of *name* (normalized; published,
        held, rejected or deleted; whether the caller may read that member or
        not: existence decides), only hosted members serve it, unless a merge
        pattern of the virtual matches the name: then every member does.
        Otherwise the other members do (no hosted member has anything of it to
        serve). Non-virtual repositories serve themselves.
        """
        if repo.kind != VIRTUAL:
            return [repo]
        layout = self._layout(repo)
        hosted = [member for member in layout.members if member.kind == HOSTED]
        normalized = self.normalize(repo.format, name)
        if not queries.any_claims(self._ctx.db, [member.id for member in hosted], normalized):
            return self._readable([m for m in layout.members if m.kind != HOSTED])
        if _merges(layout.merge_patterns, name, normalized):
            return self._readable(layout.members)
        return self._readable(hosted)

    def upload_target(self, repo: RepoInfo) -> RepoInfo:
        """Where an upload addressed to *repo* goes: itself if hosted.

        A virtual repository sends it to its first hosted member (in order,
        flattened) the caller may write; 403 if it has hosted members but the
        caller may write none, 405 if it has none. A remote takes no uploads: 405.
        """
        if repo.kind == HOSTED:
            return repo
        if repo.kind == REMOTE:
            raise MethodNotAllowed(
                f"repository {repo.key!r} is a remote repository (a cache of its upstream): "
                "it takes no uploads; upload to a hosted repository"
            )
        hosted = [m for m in self._layout(repo).members if m.kind == HOSTED]
        if not hosted:
            raise MethodNotAllowed(
                f"virtual repository {repo.key!r} has no hosted member: it takes no uploads"
            )
        for member in hosted:
            if Permission.WRITE in permissions_on(self._ctx.db, self.principal, member):
                return repo_info(member)
        raise PermissionDenied(
            f"no hosted member of virtual repository {repo.key!r} accepts uploads from you"
        )

    def _layout(self, repo: RepoInfo) -> VirtualLayout:
        return self._ctx.services.layouts.virtual(self._ctx.db, repo)

    def _readable(self, repos: Sequence[RepoRef]) -> list[RepoInfo]:
        db, principal = self._ctx.db, self.principal
        return [
            repo_info(repo)
            for repo in repos
            if Permission.READ in permissions_on(db, principal, repo)
        ]


def _merges(patterns: Sequence[str], name: str, normalized: str) -> bool:
    """Whether a merge pattern matches the name as given or normalized."""
    return any(fnmatchcase(name, p) or fnmatchcase(normalized, p) for p in patterns)
