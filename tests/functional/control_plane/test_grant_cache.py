"""Kept read decisions: revocations take effect at once here and within the bound elsewhere.

Each test first reads (so a decision granting read is kept), then revokes in
some way and reads again on the same process: the kept decision must not
answer. The last tests stand for a second node: a process that did not make
the change keeps its decision for at most the token cache's bound.
"""

from __future__ import annotations

import time

import falcon.testing
import pytest
from sqlalchemy import delete

from artifortress.app import create_app
from artifortress.auth.principal import Principal
from artifortress.container import Services
from artifortress.rbac.grant_cache import GrantCache
from artifortress.rbac.models import RoleBinding
from artifortress.rbac.permissions import Permission
from artifortress.repos.views import RepoRef
from artifortress.testing.helpers import Api

from .helpers import assert_error

FILE = "/generic/files/tool/1.0/tool.txt"


@pytest.fixture
def files(admin, make_repo):
    make_repo("files", "generic")
    assert admin.put(FILE, b"bytes").status_code == 201
    return "files"


@pytest.fixture
def bob(api_factory, files):
    reader = api_factory.as_user("bob", roles={"files": ["read"]})
    assert reader.get(FILE).status_code == 200  # the decision is kept from here on
    return reader


def test_removing_a_role_refuses_the_next_read(admin, bob):
    assert admin.put("/v1/repos/files/bindings/bob", {"roles": []}).status_code == 200
    assert_error(bob.get(FILE), 403)


def test_leaving_a_group_refuses_the_next_read(admin, api_factory, files):
    carol = api_factory.as_user("carol")
    assert admin.post("/v1/groups", {"name": "team"}).status_code == 201
    assert admin.put("/v1/groups/team/members/carol").status_code == 200
    assert admin.put("/v1/repos/files/group-bindings/team", {"roles": ["read"]}).status_code == 200
    assert carol.get(FILE).status_code == 200
    assert admin.delete("/v1/groups/team/members/carol").status_code in (200, 204)
    assert_error(carol.get(FILE), 403)


def test_making_a_repository_private_refuses_the_next_anonymous_read(admin, anonymous, files):
    assert admin.patch("/v1/repos/files", {"public": True}).status_code == 200
    assert anonymous.get(FILE).status_code == 200
    assert admin.patch("/v1/repos/files", {"public": False}).status_code == 200
    assert_error(anonymous.get(FILE), 401)


def test_deleting_the_repository_answers_404_at_once(admin, api_factory, make_repo):
    make_repo("empty", "generic")  # only an empty repository can be deleted
    erin = api_factory.as_user("erin", roles={"empty": ["read"]})
    assert erin.get("/v1/repos/empty").status_code == 200
    assert admin.delete("/v1/repos/empty").status_code in (200, 204)
    assert_error(erin.get("/v1/repos/empty"), 404)


def test_a_write_made_without_the_api_refuses_the_next_read(bob, services):
    with services.sessions.begin() as db:
        db.execute(delete(RoleBinding))
    assert_error(bob.get(FILE), 403)


def test_a_new_grant_works_on_the_next_request(admin, api_factory, files):
    dave = api_factory.as_user("dave")
    assert_error(dave.get(FILE), 403)  # refusals are never kept
    assert admin.put("/v1/repos/files/bindings/dave", {"roles": ["read"]}).status_code == 200
    assert dave.get(FILE).status_code == 200


def test_another_process_refuses_within_the_bound(admin, bob, services):
    other = Services.build(services.settings)  # a second node on the same database
    try:
        bob_there = Api(falcon.testing.TestClient(create_app(other)), bob.token)
        assert bob_there.get(FILE).status_code == 200
        assert admin.put("/v1/repos/files/bindings/bob", {"roles": []}).status_code == 200
        bound = services.settings.token_cache_seconds
        deadline = time.monotonic() + bound + 0.5
        while bob_there.get(FILE).status_code == 200:
            assert time.monotonic() < deadline, "the revoked read outlived the bound"
            time.sleep(0.05)
        assert_error(bob_there.get(FILE), 403)
    finally:
        other.close()


@pytest.mark.parametrize("settings_overrides", [{"token_cache_seconds": "0"}])
def test_a_bound_of_zero_decides_every_request(admin, bob, services, settings_overrides):
    other = Services.build(services.settings)
    try:
        bob_there = Api(falcon.testing.TestClient(create_app(other)), bob.token)
        assert bob_there.get(FILE).status_code == 200
        assert admin.put("/v1/repos/files/bindings/bob", {"roles": []}).status_code == 200
        assert_error(bob_there.get(FILE), 403)
    finally:
        other.close()


REPO = RepoRef(1, 1, "files", "generic", False, "", "hosted")
READER = Principal(tenant_id=1, user_id=7, name="bob")


def test_only_decisions_granting_read_are_kept():
    cache = GrantCache(1.0)
    cache.keep(READER, "files", (REPO, frozenset()), cache.generation())
    assert cache.reading(READER, "files") is None
    granted = (REPO, frozenset({Permission.READ}))
    cache.keep(READER, "files", granted, cache.generation())
    assert cache.reading(READER, "files") == granted
    assert cache.reading(Principal(tenant_id=1, user_id=8), "files") is None


def test_a_decision_read_during_a_change_is_not_kept_past_it():
    cache = GrantCache(1.0)
    before = cache.generation()
    cache._generation += 1  # a change committed while the decision was being read
    cache.keep(READER, "files", (REPO, frozenset({Permission.READ})), before)
    assert cache.reading(READER, "files") is None
