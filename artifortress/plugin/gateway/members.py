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
from artifortress.repos.services import lookup_repo
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
        if not self._claimed([member.id for member in hosted], normalized):
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
        ctx = self._ctx
        return ctx.services.layouts.virtual(ctx.db_when_needed, repo)  # a kept one opens no session

    def _claimed(self, hosted: Sequence[int], name: str) -> bool:
        """Whether a hosted member claims *name*: outside any session while none is open.

        Read on every request, never kept: a version held in quarantine claims
        its name without changing any stored rendering's counter.
        """
        ctx = self._ctx
        if ctx.db_if_open is None and ctx.services.claims is not None:
            return ctx.services.claims.any_claims(hosted, name)
        return queries.any_claims(ctx.db, hosted, name)

    def _readable(self, repos: Sequence[RepoRef]) -> list[RepoInfo]:
        return [repo_info(repo) for repo in repos if self._may_read(repo)]

    def _may_read(self, member: RepoRef) -> bool:
        """Whether the caller may read *member*: a kept read decision, or one taken and kept.

        The decisions the request's own repository uses (``rbac.GrantCache``),
        with the same bound: a warm read through a virtual then reads no roles.
        One taken here reads the member afresh, as authorizing a request does
        (the layout's copy may be a bound old already: it must not be kept
        for another bound).
        """
        ctx, principal = self._ctx, self.principal
        grants = ctx.services.grants
        kept = grants.reading(principal, member.key)
        if kept is not None and kept[0].id == member.id:
            return True
        generation = grants.generation()
        current = lookup_repo(ctx.db, principal.tenant_id, member.key)
        if current is None or current.id != member.id:
            return False  # deleted (or replaced) since the layout was read
        granted = permissions_on(ctx.db, principal, current)
        grants.keep(principal, member.key, (current, granted), generation)
        return Permission.READ in granted


def _merges(patterns: Sequence[str], name: str, normalized: str) -> bool:
    """Whether a merge pattern matches the name as given or normalized."""
    return any(fnmatchcase(name, p) or fnmatchcase(normalized, p) for p in patterns)
