"""Remote and virtual repositories through ``/v1/repos``: validation, secrets, members."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from artifortress.outbox.models import OutboxEvent
from artifortress.repos.models import RepositoryUpstream

from .helpers import assert_error, audit_rows, snapshot

PASSWORD = "hunter2-upstream-Pa55"
UPSTREAM = {"url": "https://pypi.example/simple/", "username": "bot", "password": PASSWORD}


def remote(admin, key="up", format="pypi", **extra):
    body = {"key": key, "format": format, "kind": "remote", "upstream": UPSTREAM, **extra}
    created = admin.post("/v1/repos", body)
    assert created.status_code == 201, created.text
    return created.json


def virtual(admin, key, members, format="pypi", **extra):
    body = {"key": key, "format": format, "kind": "virtual", "members": members, **extra}
    created = admin.post("/v1/repos", body)
    assert created.status_code == 201, created.text
    return created.json


def test_hosted_is_the_default_kind(admin, make_repo):
    assert make_repo("libs")["kind"] == "hosted"
    assert admin.get("/v1/repos").json["repos"][0]["kind"] == "hosted"


def test_a_remote_shows_its_upstream_but_only_whether_a_password_is_set(admin):
    created = remote(admin, metadata_ttl="10m")
    assert created["kind"] == "remote"
    assert created["upstream"] == {
        "url": UPSTREAM["url"],
        "username": "bot",
        "password_set": True,
    }
    assert created["metadata_ttl"] == 600
    assert admin.get("/v1/repos/up").json == created
    assert [r["kind"] for r in admin.get("/v1/repos").json["repos"]] == ["remote"]


@pytest.mark.parametrize(("ttl", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), (45, 45)])
def test_metadata_ttl_takes_durations_and_seconds(admin, ttl, seconds):
    assert remote(admin, metadata_ttl=ttl)["metadata_ttl"] == seconds


def test_a_virtual_lists_members_in_order_and_its_merge_patterns(admin, make_repo):
    make_repo("py", "pypi")
    remote(admin)
    created = virtual(admin, "all", ["py", "up"], merge_patterns=["setuptools*"])
    assert (created["members"], created["merge_patterns"]) == (["py", "up"], ["setuptools*"])
    patched = admin.patch("/v1/repos/all", {"members": ["up", "py"], "merge_patterns": []})
    assert (patched.json["members"], patched.json["merge_patterns"]) == (["up", "py"], [])


INVALID = [
    {"kind": "mirror"},
    {"kind": "remote"},
    {"kind": "remote", "upstream": {"username": "bot"}},
    {"kind": "remote", "upstream": {"url": "ftp://pypi.example/simple/"}},
    {"kind": "remote", "upstream": {"url": "file:///etc/passwd"}},
    {"kind": "remote", "upstream": {"url": "http://[::1/simple/"}},
    {"kind": "remote", "upstream": {"url": "https:///simple/"}},
    {"kind": "remote", "upstream": {"url": "https://bot:secret@pypi.example/simple/"}},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "metadata_ttl": "10x"},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "metadata_ttl": "8d"},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "members": ["py"]},
    {"kind": "hosted", "upstream": {"url": "https://pypi.example/"}},
    {"kind": "hosted", "members": ["py"]},
    {"kind": "virtual", "members": ["nope"]},
    {"kind": "virtual", "members": ["js"]},
    {"kind": "virtual", "members": ["py", "py"]},
    {"kind": "virtual", "members": ["new"]},
    {"kind": "virtual", "upstream": {"url": "https://pypi.example/"}},
]


def test_invalid_kinds_and_settings_are_400_and_create_nothing(admin, make_repo, services):
    make_repo("py", "pypi")
    make_repo("js", "npm")
    before = snapshot(services)
    for body in INVALID:
        answer = admin.post("/v1/repos", {"key": "new", "format": "pypi", **body})
        assert_error(answer, 400)
    assert snapshot(services) == before


def test_a_virtual_cannot_contain_itself_even_through_another(admin, make_repo, services):
    make_repo("py", "pypi")
    virtual(admin, "a", ["py"])
    virtual(admin, "b", ["a"])
    before = snapshot(services)
    assert_error(admin.patch("/v1/repos/a", {"members": ["a"]}), 400)
    answer = admin.patch("/v1/repos/a", {"members": ["py", "b"]})
    assert_error(answer, 400)
    assert "contain itself" in answer.json["error"]["message"]
    assert snapshot(services) == before


def test_kind_format_and_other_kinds_settings_cannot_be_patched(admin, make_repo, services):
    make_repo("py", "pypi")
    remote(admin)
    before = snapshot(services)
    for key, body in [
        ("up", {"kind": "hosted"}),
        ("up", {"members": ["py"]}),
        ("py", {"upstream": {"url": "https://pypi.example/"}}),
        ("py", {"merge_patterns": ["*"]}),
        ("up", {"upstream": {"url": "gopher://pypi.example/"}}),
    ]:
        assert_error(admin.patch(f"/v1/repos/{key}", body), 400)
    assert snapshot(services) == before


def test_patching_an_upstream_keeps_the_password_unless_asked(admin, services):
    remote(admin)
    moved = admin.patch("/v1/repos/up", {"upstream": {"url": "https://pypi.example/other/"}})
    assert moved.json["upstream"]["password_set"] is True
    elsewhere = {"url": "http://mirror.example/simple/", "password": PASSWORD + "-mirror"}
    assert admin.patch("/v1/repos/up", {"upstream": elsewhere}).status_code == 200
    cleared = admin.patch("/v1/repos/up", {"upstream": {"password": None}, "metadata_ttl": 60})
    assert cleared.json["upstream"] == {
        "url": "http://mirror.example/simple/",
        "username": "bot",
        "password_set": False,
    }
    assert cleared.json["metadata_ttl"] == 60
    row = audit_rows(services, action="repo.update")[-1]
    assert row.details["changes"] == {"upstream_password": "removed", "metadata_ttl": 60}


def test_the_password_is_never_answered_logged_audited_or_stored_in_clear(admin, services, caplog):
    caplog.set_level(logging.DEBUG)
    answers = [
        admin.post(
            "/v1/repos",
            {"key": "up", "format": "pypi", "kind": "remote", "upstream": UPSTREAM},
        ),
        admin.get("/v1/repos/up"),
        admin.get("/v1/repos"),
        admin.patch("/v1/repos/up", {"upstream": {"password": PASSWORD + "-2"}}),
        # Refusals must not echo it either.
        admin.patch("/v1/repos/up", {"upstream": {"password": PASSWORD * 100}}),
        admin.post("/v1/repos", {"key": "x", "format": "pypi", "upstream": UPSTREAM}),
        admin.patch("/v1/repos/up", {"upstream": {"password": PASSWORD, "url": "ftp://x"}}),
        admin.patch("/v1/repos/up", {"upstream": {"url": f"ftp://bot:{PASSWORD}@x/"}}),
        admin.patch("/v1/repos/up", {"upstream": {"url": f"https://bot:{PASSWORD}@x/"}}),
    ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 400, 400, 400, 400, 400]
    for answer in answers:
        assert PASSWORD not in answer.text
    assert PASSWORD not in caplog.text
    with services.sessions() as db:
        (sealed,) = db.scalars(select(RepositoryUpstream.password_encrypted))
        assert sealed is not None
        assert PASSWORD not in sealed
        events = [e.payload for e in db.scalars(select(OutboxEvent))]
        raw = repr(db.execute(text("SELECT * FROM repository_upstreams")).all())
    assert PASSWORD not in raw
    assert PASSWORD not in repr(events)
    assert PASSWORD not in repr([(r.action, r.details) for r in audit_rows(services)])


def test_creating_and_changing_kinds_is_audited(admin, make_repo, services):
    make_repo("py", "pypi")
    remote(admin, metadata_ttl="1h")
    virtual(admin, "all", ["py", "up"])
    up, all_ = audit_rows(services, action="repo.create")[1:]
    assert up.details["kind"] == "remote"
    assert up.details["upstream_url"] == UPSTREAM["url"]
    assert up.details["upstream_password"] == "set"
    assert up.details["metadata_ttl"] == 3600
    assert (all_.details["kind"], all_.details["members"]) == ("virtual", ["py", "up"])
    admin.patch("/v1/repos/all", {"members": ["up"]})
    row = audit_rows(services, action="repo.update")[-1]
    assert row.details["changes"] == {"members": ["up"]}


def test_a_member_of_a_virtual_is_not_deleted(admin, make_repo):
    make_repo("py", "pypi")
    virtual(admin, "all", ["py"])
    virtual(admin, "more", ["py"])
    refused = admin.delete("/v1/repos/py")
    assert_error(refused, 409, "conflict")
    assert "'all', 'more'" in refused.json["error"]["message"]
    admin.patch("/v1/repos/all", {"members": []})
    assert admin.delete("/v1/repos/more").status_code == 200
    assert admin.delete("/v1/repos/py").status_code == 200
    assert admin.get("/v1/repos/all").json["members"] == []


def test_a_deleted_remote_takes_its_upstream_along(admin, services):
    remote(admin)
    assert admin.delete("/v1/repos/up").status_code == 200
    with services.sessions() as db:
        assert db.scalars(select(RepositoryUpstream)).all() == []


def test_readers_of_a_virtual_see_only_the_members_they_may_read(admin, api_factory, make_repo):
    make_repo("py", "pypi")
    make_repo("secret", "pypi")
    virtual(admin, "all", ["secret", "py"])
    reader = api_factory.as_user("dev", roles={"all": ["read"], "py": ["read"]})
    assert reader.get("/v1/repos/all").json["members"] == ["py"]
    owner = api_factory.as_user("owner", roles={"all": ["admin"]})
    assert owner.get("/v1/repos/all").json["members"] == ["secret", "py"]


def test_a_repository_admin_adds_only_members_they_may_read(admin, api_factory, make_repo):
    """Listing a repository one may not read would make the virtual an oracle of its names."""
    make_repo("py", "pypi")
    make_repo("secret", "pypi")
    virtual(admin, "all", ["py"])
    owner = api_factory.as_user("owner", roles={"all": ["admin"], "py": ["read"]})
    refused = owner.patch("/v1/repos/all", {"members": ["secret", "py"]})
    assert_error(refused, 400, "validation_failed")
    assert refused.json["error"]["message"] == "no repository 'secret' to be a member"
    unknown = owner.patch("/v1/repos/all", {"members": ["nothing", "py"]})
    assert unknown.json["error"]["message"] == "no repository 'nothing' to be a member"
    assert admin.get("/v1/repos/all").json["members"] == ["py"]
    admin.patch("/v1/repos/all", {"members": ["py", "secret"]})
    moved = owner.patch("/v1/repos/all", {"members": ["secret", "py"]})  # listed already
    assert moved.status_code == 200, moved.text


@pytest.mark.parametrize(
    "url",
    [
        "https://collector.example/simple/",  # another host
        "http://pypi.example/simple/",  # the same host in clear text
        "https://pypi.example:8443/simple/",  # another port
    ],
)
def test_the_stored_password_never_follows_the_url_to_another_origin(admin, services, url):
    """Who may change the URL must not collect, or misdirect, the password given for the old one."""
    remote(admin)
    before = admin.get("/v1/repos/up").json
    refused = admin.patch("/v1/repos/up", {"upstream": {"url": url}})
    assert_error(refused, 400, "validation_failed")
    assert "password" in refused.json["error"]["message"]
    assert admin.get("/v1/repos/up").json == before
    dropped = admin.patch("/v1/repos/up", {"upstream": {"url": url, "password": None}})
    assert dropped.status_code == 200, dropped.text
    assert dropped.json["upstream"] == {"url": url, "username": "bot", "password_set": False}


def test_only_a_tenant_administrator_changes_where_a_remote_connects(admin, api_factory):
    """The gateway reads wherever upstream.url says, inside its network too (generic: any file)."""
    remote(admin, format="generic")
    owner = api_factory.as_user("owner", roles={"up": ["admin"]})
    moved = owner.patch("/v1/repos/up", {"upstream": {"url": "http://10.0.0.7:9200/"}})
    assert_error(moved, 403, "permission_denied")
    assert admin.get("/v1/repos/up").json["upstream"]["url"] == UPSTREAM["url"]
    same = owner.patch("/v1/repos/up", {"upstream": {"url": UPSTREAM["url"]}, "metadata_ttl": 60})
    assert same.status_code == 200, same.text
    assert owner.patch("/v1/repos/up", {"upstream": {"username": "bot2"}}).status_code == 200
    elsewhere = {"url": "http://10.0.0.7:9200/", "password": None}
    assert admin.patch("/v1/repos/up", {"upstream": elsewhere}).status_code == 200


MALFORMED = [
    {"kind": 7},
    {"kind": "remote", "upstream": "https://pypi.example/"},
    {"kind": "remote", "upstream": {"url": 7}},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/" + "a" * 100_000}},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/", "username": ["bot"]}},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/", "extra": 1}},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "metadata_ttl": -1},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "metadata_ttl": True},
    {"kind": "remote", "upstream": {"url": "https://pypi.example/"}, "metadata_ttl": [10]},
    {"kind": "virtual", "members": "py"},
    {"kind": "virtual", "members": [7]},
    {"kind": "virtual", "members": ["py"], "merge_patterns": "*"},
    {"kind": "virtual", "members": ["py"], "merge_patterns": [None]},
]


def test_malformed_types_are_4xx_and_create_nothing(admin, make_repo, services):
    make_repo("py", "pypi")
    before = snapshot(services)
    for body in MALFORMED:
        answer = admin.post("/v1/repos", {"key": "new", "format": "pypi", **body})
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text[:200])
    assert snapshot(services) == before


def test_a_repository_admin_refused_a_new_upstream_url_is_audited(admin, api_factory, services):
    remote(admin, format="generic")
    owner = api_factory.as_user("owner", roles={"up": ["admin"]})
    moved = owner.patch("/v1/repos/up", {"upstream": {"url": "http://10.0.0.7:9200/"}})
    assert_error(moved, 403, "permission_denied")
    (row,) = audit_rows(services, action="repo.update", outcome="denied")
    assert (row.actor, row.repo_key) == ("owner", "up")


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("up", {"upstream": "https://pypi.example/"}),
        ("up", {"upstream": {"url": None}}),
        ("up", {"metadata_ttl": -1}),
        ("up", {"metadata_ttl": "1w"}),
        ("up", {"upstream": {"url": "https://pypi.example/", "password": 7}}),
        ("all", {"members": "py"}),
        ("all", {"members": ["nope"]}),
        ("all", {"members": ["py", "py"]}),
        ("all", {"merge_patterns": "*"}),
        ("all", {"merge_patterns": ["x" * 201]}),
        ("all", {"merge_patterns": ["req*", "req*"]}),
    ],
)
def test_malformed_patches_are_4xx_and_change_nothing(admin, make_repo, services, key, body):
    make_repo("py", "pypi")
    remote(admin)
    virtual(admin, "all", ["py"])
    before = snapshot(services)
    answer = admin.patch(f"/v1/repos/{key}", body)
    assert 400 <= answer.status_code < 500, answer.text
    assert snapshot(services) == before


def test_a_pattern_listed_twice_is_refused_by_the_service_too(admin, make_repo, services):
    """The UI and the CLI configure through the service, not the REST schema."""
    from artifortress.errors import ValidationFailed
    from artifortress.repos.models import Repository
    from artifortress.repos.virtuals import configure_virtual

    make_repo("py", "pypi")
    virtual(admin, "all", ["py"])
    with services.sessions.begin() as db:
        repo = db.query(Repository).filter_by(key="all").one()
        with pytest.raises(ValidationFailed, match="twice"):
            configure_virtual(db, repo, None, ["a*", "a*"])
