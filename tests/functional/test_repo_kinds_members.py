"""``Gateway.members()`` and ``Gateway.sources()``: RBAC over members and the confusion guard.

A probe plugin answers what the Gateway says, so the tests read the core's
decisions directly: which members a virtual serves from, for whom, and for
which package names (a name published by any hosted member is served from
hosted members only, unless a merge pattern lets it merge).
"""

from __future__ import annotations

import time

import falcon
import pytest
from sqlalchemy import event, select

from artifortress.plugin import (
    FormatSpec,
    Gateway,
    NewFile,
    Permission,
    PluginRoute,
    PolicyDecision,
    PolicyRequest,
    hookimpl,
    requires,
)
from artifortress.repos.layouts import Layouts
from artifortress.repos.models import Repository
from artifortress.repos.virtuals import configure_virtual


class MembersProbe:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        gateway = Gateway(req)
        resp.media = [member.key for member in gateway.members(gateway.repo)]


class SourcesProbe:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, name: str) -> None:
        gateway = Gateway(req)
        resp.media = [member.key for member in gateway.sources(gateway.repo, name)]


class PackageUpload:
    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_put(
        self, req: falcon.Request, resp: falcon.Response, repo: str, name: str, version: str
    ) -> None:
        gateway = Gateway(req)
        target = gateway.upload_target(gateway.repo)
        blob = gateway.ingest(target, [gateway.read_body(1024)])
        gateway.publish(target, name, version, [NewFile(f"{name}-{version}.txt", blob)])
        resp.status = falcon.HTTP_201
        resp.media = {"repo": target.key}


class ToyFormat:
    @hookimpl
    def artifortress_formats(self) -> list[FormatSpec]:
        return [FormatSpec(name="toy", description="probes the Gateway's members")]

    @hookimpl
    def artifortress_normalize_name(self, format: str, name: str) -> str | None:
        return name.lower().replace("_", "-") if format == "toy" else None

    @hookimpl
    def artifortress_routes(self) -> list[PluginRoute]:
        return [
            PluginRoute("toy", "/members", MembersProbe()),
            PluginRoute("toy", "/sources/{name}", SourcesProbe()),
            PluginRoute("toy", "/pkg/{name}/{version}", PackageUpload()),
        ]


class HoldPackagesNamedHeld:
    """A repository policy: quarantine any version of the package ``held``."""

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if request.version.package == "held":
            return PolicyDecision.quarantine("held for review", policy="test")
        return None


@pytest.fixture
def extra_plugins() -> list[object]:
    return [ToyFormat(), HoldPackagesNamedHeld()]


@pytest.fixture
def world(admin, make_repo):
    """all = [up (remote), mid (virtual: [secret, open]), open again, extra]."""
    make_repo("up", "toy", kind="remote", upstream={"url": "https://registry.example/"})
    make_repo("secret", "toy")
    make_repo("open", "toy")
    make_repo("extra", "toy")
    make_repo("mid", "toy", kind="virtual", members=["secret", "open"])
    make_repo("all", "toy", kind="virtual", members=["up", "mid", "open", "extra"])
    for repo, name in (("secret", "private-name"), ("open", "shared"), ("extra", "tools")):
        assert admin.put(f"/toy/{repo}/pkg/{name}/1.0", b"x").status_code == 201


def test_members_are_flattened_in_order_first_occurrence_wins(admin, world):
    assert admin.get("/toy/all/members").json == ["up", "secret", "open", "extra"]
    assert admin.get("/toy/open/members").json == ["open"]
    assert admin.get("/toy/up/members").json == ["up"]


def test_members_leave_out_what_the_caller_may_not_read(api_factory, world):
    user = api_factory.as_user("dev", roles={"all": ["read"], "open": ["read"], "up": ["read"]})
    assert user.get("/toy/all/members").json == ["up", "open"]
    assert user.get("/toy/all/sources/shared").json == ["open"]
    outsider = api_factory.as_user("out", roles={"all": ["read"]})
    assert outsider.get("/toy/all/members").json == []
    assert outsider.get("/toy/secret/members").status_code == 403


def test_a_name_no_hosted_member_publishes_comes_from_the_other_members(admin, world):
    """Hosted members have nothing of it to serve: they are not asked."""
    assert admin.get("/toy/all/sources/requests").json == ["up"]


def test_a_hosted_name_is_served_by_hosted_members_only(admin, world):
    hosted = ["secret", "open", "extra"]
    assert admin.get("/toy/all/sources/private-name").json == hosted
    assert admin.get("/toy/all/sources/Private_Name").json == hosted  # normalized first
    assert admin.get("/toy/all/sources/tools").json == hosted


def test_the_claim_counts_members_the_caller_cannot_read(api_factory, world):
    """Existence decides: a private name stays unavailable from upstream to every caller."""
    user = api_factory.as_user("dev", roles={"all": ["read"], "up": ["read"], "open": ["read"]})
    assert user.get("/toy/all/sources/private-name").json == ["open"]
    assert user.get("/toy/all/sources/requests").json == ["up"]


def test_merge_patterns_let_a_hosted_name_merge_with_remote_versions(admin, world):
    admin.patch("/v1/repos/all", {"merge_patterns": ["tool*", "PRIVATE-*"]})
    assert admin.get("/toy/all/sources/tools").json == ["up", "secret", "open", "extra"]
    assert admin.get("/toy/all/sources/private-name").json == ["secret", "open", "extra"]


def test_a_held_rejected_or_deleted_version_still_claims_its_name(admin, world):
    """A private name whose versions are all held, rejected or deleted stays private.

    Were only published versions to count, quarantining or deleting the last
    hosted version would hand the name to the upstream (dependency confusion).
    """
    hosted = ["secret", "open", "extra"]
    assert admin.put("/toy/open/pkg/held/1.0", b"x").status_code == 201  # held by the policy
    assert admin.get("/toy/all/sources/held").json == hosted
    (entry,) = admin.get("/v1/quarantine").json["quarantine"]
    assert entry["package"] == "held"
    rejected = admin.post(f"/v1/quarantine/{entry['id']}/reject", {"reason": "no"})
    assert rejected.status_code == 200, rejected.text
    assert admin.get("/toy/all/sources/held").json == hosted
    assert admin.delete("/v1/repos/extra/packages/tools/versions/1.0").status_code == 200
    assert admin.get("/toy/all/sources/tools").json == hosted


def test_a_held_version_claims_its_name_at_once_through_a_warm_virtual(admin, world, services):
    """The claim is read on every request, never kept: a held version notes no rendering stale.

    Once the caller's read decisions and the layout are kept, it is read
    outside any session (``ClaimReader``): the request begins no transaction.
    """
    assert admin.get("/toy/all/sources/held").json == ["up"]
    begins: list[object] = []
    event.listen(services.engine, "begin", lambda *args: begins.append(args))
    assert admin.get("/toy/all/sources/held").json == ["up"]
    assert begins == []
    assert admin.put("/toy/open/pkg/held/1.0", b"x").status_code == 201  # held by the policy
    begins.clear()
    assert admin.get("/toy/all/sources/held").json == ["secret", "open", "extra"]
    assert begins == []


def test_a_draft_claims_no_name(admin, world):
    draft = {"package": "half", "version": "1.0"}
    created = admin.post("/v1/repos/extra/packages/versions/drafts", draft)
    assert created.status_code == 201, created.text
    assert admin.get("/toy/all/sources/half").json == ["up"]


def test_a_remote_or_hosted_repository_is_its_own_source(admin, world):
    assert admin.get("/toy/up/sources/private-name").json == ["up"]
    assert admin.get("/toy/open/sources/anything").json == ["open"]


def test_uploads_through_the_virtual_go_to_the_first_hosted_member(admin, world):
    assert admin.put("/toy/all/pkg/new/1.0", b"x").json == {"repo": "secret"}


# -- layouts are kept per process within the token cache's bound -----------------------


def test_a_member_change_takes_effect_at_once_in_the_process_that_made_it(admin, world):
    assert admin.get("/toy/all/members").json == ["up", "secret", "open", "extra"]
    assert admin.patch("/v1/repos/mid", {"members": ["open"]}).status_code == 200
    assert admin.get("/toy/all/members").json == ["up", "open", "extra"]  # nested: at once
    assert admin.delete("/v1/repos/secret").status_code in (204, 409)


def _change_members_elsewhere(services, virtual: str, members: list[str]) -> None:
    """What another process does: the same change, unseen by this process's caches."""
    with services.sessions.begin() as db:
        repo = db.scalars(select(Repository).where(Repository.key == virtual)).one()
        configure_virtual(db, repo, members, None)


def test_another_process_change_is_seen_within_the_bound(admin, world, services):
    services.layouts = Layouts(0.3)
    assert admin.get("/toy/all/members").json == ["up", "secret", "open", "extra"]
    _change_members_elsewhere(services, "all", ["extra", "up"])
    time.sleep(0.35)
    assert admin.get("/toy/all/members").json == ["extra", "up"]


def test_a_bound_of_zero_reads_the_layout_on_every_request(admin, world, services):
    services.layouts = Layouts(0)
    assert admin.get("/toy/all/sources/tools").json == ["secret", "open", "extra"]
    _change_members_elsewhere(services, "all", ["up", "open"])
    assert admin.get("/toy/all/sources/tools").json == ["up"]  # no hosted member has it now
