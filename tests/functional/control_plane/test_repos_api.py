"""Repositories: key rules, formats, PATCH, delete, and the paginated list of readable ones."""

from __future__ import annotations

from .helpers import assert_error, audit_rows, snapshot

VALID_KEYS = ["a", "0", "libs", "my-repo", "my_repo", "v1.2", "a" * 64, "0-._x"]
INVALID_KEYS = [
    "",
    "-libs",
    ".libs",
    "_libs",
    "Libs",
    "LIBS",
    "a/b",
    "a b",
    "a" * 65,
    "libs!",
    "caf\u00e9",
    "libs\n",
    "a%2Fb",
]


def test_valid_keys_are_accepted(admin):
    for key in VALID_KEYS:
        created = admin.post("/v1/repos", {"key": key, "format": "generic"})
        assert created.status_code == 201, created.text
        assert created.json["key"] == key
        assert created.headers["location"] == f"/v1/repos/{key}"
        assert admin.get(f"/v1/repos/{key}").json["key"] == key


def test_invalid_keys_are_400_and_create_nothing(admin, services):
    admin.get("/v1/whoami")  # first use writes last_used_at; keep it out of the snapshot
    before = snapshot(services)
    for key in INVALID_KEYS:
        assert_error(admin.post("/v1/repos", {"key": key, "format": "generic"}), 400)
    assert snapshot(services) == before


def test_installed_formats_are_accepted(admin):
    for fmt in ("pypi", "npm", "generic"):
        created = admin.post("/v1/repos", {"key": f"r-{fmt}", "format": fmt})
        assert created.status_code == 201, created.text
        assert created.json["format"] == fmt


def test_formats_without_a_plugin_are_400(admin, services):
    for fmt in ("maven", "PyPI", "", "docker", "generic "):
        assert_error(admin.post("/v1/repos", {"key": "r", "format": fmt}), 400)
    assert admin.get("/v1/repos").json["repos"] == []
    assert audit_rows(services, action="repo.create") == []


def test_format_message_names_the_installed_ones(admin):
    message = admin.post("/v1/repos", {"key": "r", "format": "maven"}).json["error"]["message"]
    assert all(name in message for name in ("generic", "npm", "pypi"))


def test_duplicate_key_is_409(admin, make_repo):
    make_repo("libs")
    assert_error(admin.post("/v1/repos", {"key": "libs", "format": "npm"}), 409, "conflict")
    assert admin.get("/v1/repos/libs").json["format"] == "generic"


def test_defaults_and_description(admin):
    created = admin.post("/v1/repos", {"key": "a", "format": "generic"}).json
    assert created["public"] is False
    assert created["description"] == ""
    described = admin.post(
        "/v1/repos", {"key": "b", "format": "npm", "public": True, "description": "npm mirror"}
    ).json
    assert (described["public"], described["description"]) == (True, "npm mirror")


# --- PATCH -------------------------------------------------------------------------------


def test_patch_changes_public_and_description(admin, anonymous, make_repo):
    make_repo("libs")
    assert anonymous.get("/v1/repos/libs").status_code == 401
    patched = admin.patch("/v1/repos/libs", {"public": True, "description": "shared"})
    assert patched.status_code == 200
    assert (patched.json["public"], patched.json["description"]) == (True, "shared")
    assert anonymous.get("/v1/repos/libs").json["description"] == "shared"
    assert patched.json["updated_at"] >= patched.json["created_at"]
    admin.patch("/v1/repos/libs", {"public": False})
    assert anonymous.get("/v1/repos/libs").status_code == 401
    assert admin.get("/v1/repos/libs").json["description"] == "shared"


NOT_PATCHABLE = [
    {"key": "other"},
    {"format": "npm"},
    {"public": True, "key": "other"},
    {"created_at": "2020-01-01T00:00:00+00:00"},
    {},
]


def test_patch_of_anything_else_is_400_and_changes_nothing(admin, make_repo, services):
    make_repo("libs")
    before = snapshot(services)
    for body in NOT_PATCHABLE:
        assert_error(admin.patch("/v1/repos/libs", body), 400, "validation_failed")
    assert snapshot(services) == before


def test_patch_is_audited_with_the_changes(admin, make_repo, services):
    make_repo("libs")
    admin.patch("/v1/repos/libs", {"public": True, "description": "d"})
    (row,) = audit_rows(services, action="repo.update")
    assert row.repo_key == "libs"
    assert row.details["changes"] == {"public": True, "description": "d"}


# --- DELETE ------------------------------------------------------------------------------


def test_delete_removes_the_repository_and_its_bindings(admin, api_factory, make_repo, services):
    make_repo("libs")
    api_factory.token_for("bob")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write"]})
    deleted = admin.delete("/v1/repos/libs")
    assert deleted.status_code == 200
    assert deleted.json["key"] == "libs"
    assert_error(admin.get("/v1/repos/libs"), 404, "not_found")
    assert snapshot(services)["role_bindings"] == []
    # The key is free again, with no bindings carried over.
    make_repo("libs")
    assert admin.get("/v1/repos/libs/bindings").json["bindings"] == []
    bob = api_factory.as_user("bob")
    assert_error(bob.get("/v1/repos/libs"), 403)


# --- list --------------------------------------------------------------------------------


def _walk(api, limit):
    keys, cursor, pages = [], None, 0
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/repos", params=params)
        assert page.status_code == 200, page.text
        assert len(page.json["repos"]) <= limit
        keys += [r["key"] for r in page.json["repos"]]
        cursor = page.json["next_cursor"]
        pages += 1
        if cursor is None:
            return keys, pages


def test_list_pages_through_every_repository_once_in_key_order(admin, make_repo):
    keys = [*(f"repo-{i:02d}" for i in range(7)), "a-first", "z-last"]
    for key in keys:
        make_repo(key)
    for limit in (1, 3, 7, 8, 9, 100):
        walked, pages = _walk(admin, limit)
        assert walked == sorted(keys)
        assert pages == -(-len(keys) // limit)  # no trailing empty page


def test_list_shows_only_readable_repositories(admin, api_factory, make_repo):
    for key, public in [("pub", True), ("libs", False), ("apps", False), ("secret", False)]:
        make_repo(key, public=public)
    make_repo("staging")
    api_factory.token_for("bob")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["read"]})
    admin.put("/v1/repos/apps/bindings/bob", {"roles": ["admin"]})
    # promote alone grants no read: a repository bob cannot GET is not listed either.
    admin.put("/v1/repos/staging/bindings/bob", {"roles": ["promote"]})
    bob = api_factory.as_user("bob")
    listed = [r["key"] for r in bob.get("/v1/repos").json["repos"]]
    assert listed == ["apps", "libs", "pub"]
    for key in listed:
        assert bob.get(f"/v1/repos/{key}").status_code == 200
    assert_error(bob.get("/v1/repos/staging"), 403)
    everyone = [r["key"] for r in admin.get("/v1/repos").json["repos"]]
    assert everyone == ["apps", "libs", "pub", "secret", "staging"]
    assert _walk(bob, 1)[0] == listed


def test_list_with_a_public_repo_only_for_an_unbound_user(admin, api_factory, make_repo):
    make_repo("pub", public=True)
    make_repo("priv")
    nobody = api_factory.as_user("nobody")
    assert [r["key"] for r in nobody.get("/v1/repos").json["repos"]] == ["pub"]


def test_a_repository_holding_drafts_is_not_deleted(admin, make_repo, services):
    """Versions are deleted tombstone-first by their plane; the repository refuses to go."""
    make_repo("libs")
    drafted = admin.post(
        "/v1/repos/libs/packages/versions/drafts", {"package": "pkg", "version": "1.0"}
    )
    assert drafted.status_code == 201, drafted.text
    before = snapshot(services)
    refused = admin.delete("/v1/repos/libs")
    assert_error(refused, 409, "conflict")
    assert "delete those first" in refused.json["error"]["message"]
    assert snapshot(services) == before
    assert admin.get("/v1/repos/libs").status_code == 200
