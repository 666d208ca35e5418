"""Administration pages through the real app: repositories, roles, quarantine, audit, events."""

from __future__ import annotations

import re

import pytest

from tests.functional.ui.conftest import publish_version


def _admin_browser(api_factory, browser):
    browser.sign_in(api_factory.token_for("boss", admin=True))
    return browser


def test_a_tenant_admin_creates_a_repository(api_factory, browser, admin):
    _admin_browser(api_factory, browser)
    browser.get("/ui/admin/repos/new")
    made = browser.post(
        "/ui/admin/repos/new",
        {"key": "web-libs", "format": "generic", "public": "on", "description": "<b>shared</b>"},
        follow=True,
    )
    assert made.status_code == 200
    assert "The repository was created." in made.text
    repo = admin.get("/v1/repos/web-libs").json
    assert (repo["format"], repo["public"], repo["description"]) == (
        "generic",
        True,
        "<b>shared</b>",
    )
    assert "&lt;b&gt;shared&lt;/b&gt;" in made.text
    browser.get("/ui/admin/repos/new")
    again = browser.post("/ui/admin/repos/new", {"key": "web-libs", "format": "generic"})
    assert again.status_code == 409
    browser.get("/ui/admin/repos/new")
    bad = browser.post("/ui/admin/repos/new", {"key": "Bad Key", "format": "generic"})
    assert bad.status_code == 400


def test_a_repository_admin_changes_settings_and_roles(make_repo, api_factory, browser, admin):
    make_repo("team", "generic")
    api_factory.token_for("rita")
    admin.post("/v1/groups", {"name": "devs"})
    browser.sign_in(api_factory.token_for("owner", roles={"team": ["admin"]}))
    repo_page = browser.get("/ui/repos/team")
    assert 'href="/ui/repos/team/settings"' in repo_page.text
    browser.get("/ui/repos/team/settings")
    saved = browser.post(
        "/ui/repos/team/settings", {"public": "on", "description": "Team tools"}, follow=True
    )
    assert "Saved." in saved.text
    assert admin.get("/v1/repos/team").json["public"] is True
    bound = browser.post(
        "/ui/repos/team/settings/bindings",
        {"user": "rita", "roles": ["read", "write"]},
        follow=True,
    )
    assert "The roles were updated." in bound.text
    assert re.search(r"<td>rita</td><td>read, write</td>", bound.text)
    grouped = browser.post(
        "/ui/repos/team/settings/group-bindings", {"group": "devs", "roles": ["read"]}, follow=True
    )
    assert "<td>group devs</td><td>read</td>" in grouped.text
    removed = browser.post("/ui/repos/team/settings/bindings", {"user": "rita"}, follow=True)
    assert "<td>rita</td>" not in removed.text
    unknown = browser.post(
        "/ui/repos/team/settings/bindings", {"user": "nobody", "roles": ["read"]}
    )
    assert unknown.status_code == 404
    actions = [e["action"] for e in admin.get("/v1/repos/team/audit").json["entries"]]
    assert {"repo.update", "binding.set", "group_binding.set"} <= set(actions)


def test_a_writer_gets_no_settings_and_forged_posts_are_refused(
    make_repo, api_factory, browser, admin
):
    make_repo("team", "generic")
    browser.sign_in(api_factory.token_for("wes", roles={"team": ["read", "write"]}))
    page = browser.get("/ui/repos/team")
    assert "/settings" not in page.text
    assert browser.get("/ui/repos/team/settings").status_code == 403
    browser.get("/ui/account")
    forged = browser.post("/ui/repos/team/settings", {"public": "on"})
    assert forged.status_code == 403
    assert admin.get("/v1/repos/team").json["public"] is False
    forged = browser.post("/ui/repos/team/settings/bindings", {"user": "wes", "roles": ["admin"]})
    assert forged.status_code == 403
    assert browser.get("/ui/admin/repos/new").status_code == 403
    denied = admin.get("/v1/audit", params={"actor": "wes", "outcome": "denied"}).json["entries"]
    assert {"repo.update", "binding.set", "binding.list", "repo.create"} <= {
        e["action"] for e in denied
    }


def _quarantine(admin, make_repo) -> None:
    make_repo("held", "generic")
    publish_version(admin, "held", "left-pad-tool", "1.0", {"a.txt": b"a"})
    assert admin.put("/v1/repos/held/policy", {"typosquat": True}).status_code == 200
    publish_version(admin, "held", "leftpad-tool", "1.0", {"a.txt": b"b"})


def test_quarantine_release_and_reject(admin, make_repo, api_factory, browser):
    _quarantine(admin, make_repo)
    publish_version(admin, "held", "leftpad-too", "1.0", {"b.txt": b"c"})
    _admin_browser(api_factory, browser)
    page = browser.get("/ui/admin/quarantine")
    ids = re.findall(r'action="/ui/admin/quarantine/(\d+)/release"', page.text)
    assert len(ids) == 2
    assert "<strong>typosquat</strong>: new package" in page.text
    released = browser.post(f"/ui/admin/quarantine/{ids[0]}/release", {}, follow=True)
    assert "released" in released.text
    browser.get("/ui/admin/quarantine")
    no_reason = browser.post(f"/ui/admin/quarantine/{ids[1]}/reject", {"reason": ""})
    assert no_reason.status_code == 400
    browser.get("/ui/admin/quarantine")
    rejected = browser.post(
        f"/ui/admin/quarantine/{ids[1]}/reject", {"reason": "typosquat"}, follow=True
    )
    assert "rejected" in rejected.text
    states = {e["id"]: e["state"] for e in admin.get("/v1/quarantine?state=all").json["quarantine"]}
    assert sorted(states.values()) == ["rejected", "released"]
    assert browser.get("/ui/admin/quarantine", params={"state": "bogus"}).status_code == 400


def test_quarantined_versions_show_to_repository_admins_only(
    admin, make_repo, api_factory, new_browser
):
    _quarantine(admin, make_repo)
    boss = _admin_browser(api_factory, new_browser())
    held = boss.get("/ui/repos/held/packages/leftpad-tool")
    assert held.status_code == 200
    assert "quarantined" in held.text
    assert "pip install" not in held.text  # nothing to install while it is held
    reader = new_browser()
    reader.sign_in(api_factory.token_for("rita", roles={"held": ["read"]}))
    assert reader.get("/ui/repos/held/packages/leftpad-tool").status_code == 404


def test_audit_log_filters(admin, make_repo, api_factory, browser):
    make_repo("libs", "generic")
    api_factory.as_user("rita").patch("/v1/repos/libs", {"public": True})  # denied
    _admin_browser(api_factory, browser)
    everything = browser.get("/ui/admin/audit")
    assert "repo.create" in everything.text
    denied = browser.get("/ui/admin/audit", params={"outcome": "denied"})
    assert "rita" in denied.text
    assert "repo.create" not in denied.text
    by_action = browser.get("/ui/admin/audit", params={"action": "repo.create", "repo": "libs"})
    assert by_action.text.count("<td>repo.create</td>") == 1
    later = browser.get("/ui/admin/audit", params={"since": "2999-01-01T00:00"})
    assert "No entry matches." in later.text
    assert browser.get("/ui/admin/audit", params={"since": "yesterday"}).status_code == 400
    assert browser.get("/ui/admin/audit", params={"outcome": "maybe"}).status_code == 400
    assert browser.get("/ui/admin/audit", params={"cursor": "forged"}).status_code == 400


def test_audit_log_pages_keep_their_filters(admin, make_repo, api_factory, browser):
    for index in range(55):
        make_repo(f"r{index:02d}", "generic")
    _admin_browser(api_factory, browser)
    first = browser.get("/ui/admin/audit", params={"action": "repo.create"})
    assert first.text.count("<td>repo.create</td>") == 50
    older = re.search(r'href="(/ui/admin/audit\?[^"]+)">Older entries', first.text).group(1)
    assert "action=repo.create" in older
    second = browser.get(older.replace("&amp;", "&"))
    assert second.text.count("<td>repo.create</td>") == 5


def test_dead_letters_can_be_retried(admin, make_repo, api_factory, browser, services):
    from sqlalchemy import update

    from artifortress.outbox.models import OutboxEvent

    make_repo("libs", "generic")
    with services.sessions.begin() as db:
        db.execute(update(OutboxEvent).values(state="dead", attempts=10, last_error="boom"))
    _admin_browser(api_factory, browser)
    page = browser.get("/ui/admin/outbox")
    ids = re.findall(r'action="/ui/admin/outbox/(\d+)/retry"', page.text)
    assert ids
    assert "boom" in page.text
    retried = browser.post(f"/ui/admin/outbox/{ids[0]}/retry", {}, follow=True)
    assert "queued again" in retried.text
    event = next(
        e for e in admin.get("/v1/admin/outbox?state=all").json["events"] if str(e["id"]) == ids[0]
    )
    assert event["state"] == "pending"


def test_users_and_groups_without_curl(admin, make_repo, api_factory, browser, client):
    _admin_browser(api_factory, browser)
    browser.get("/ui/admin/people")
    created = browser.post("/ui/admin/people/users", {"name": "newbie"}, follow=True)
    assert "The user was created" in created.text
    assert "<td>newbie</td>" in created.text
    taken = browser.post("/ui/admin/people/users", {"name": "newbie"})
    assert taken.status_code == 409
    browser.get("/ui/admin/people")
    grouped = browser.post("/ui/admin/people/groups", {"name": "devs"}, follow=True)
    assert "<h3>devs</h3>" in grouped.text
    added = browser.post("/ui/admin/people/groups/devs/members", {"user": "newbie"}, follow=True)
    assert "Members: newbie" in added.text
    removed = browser.post(
        "/ui/admin/people/groups/devs/members", {"user": "newbie", "remove": "on"}, follow=True
    )
    assert "No member yet." in removed.text
    token = api_factory.token_for("newbie")
    who = {"Authorization": f"Bearer {token}"}
    assert client.simulate_get("/v1/whoami", headers=who).status_code == 200
    browser.get("/ui/admin/people")
    disabled = browser.post("/ui/admin/people/users/newbie/state", {"disabled": "on"}, follow=True)
    assert "The user is disabled" in disabled.text
    assert client.simulate_get("/v1/whoami", headers=who).status_code == 401
    browser.post("/ui/admin/people/users/newbie/state", {"disabled": "off"}, follow=True)
    assert client.simulate_get("/v1/whoami", headers=who).status_code == 200
    assert 'action="/ui/admin/people/users/boss/state"' not in browser.last.text  # not oneself


def test_people_pages_are_for_tenant_admins_only(api_factory, browser, admin):
    browser.sign_in(api_factory.token_for("rita"))
    assert browser.get("/ui/admin/people").status_code == 403
    browser.get("/ui/account")
    assert browser.post("/ui/admin/people/users", {"name": "sneaky"}).status_code == 403
    assert admin.get("/v1/users/sneaky").status_code == 404


def test_a_repository_admin_sets_the_policies(make_repo, api_factory, browser, admin):
    make_repo("team", "generic")
    admin.put("/v1/repos/team/policy", {"extra": {"third-party": {"on": True}}})
    browser.sign_in(api_factory.token_for("owner", roles={"team": ["admin"]}))
    browser.get("/ui/repos/team/settings")
    saved = browser.post(
        "/ui/repos/team/settings/policy",
        {
            "max_artifact_size": "1000",
            "allowed_licenses": "MIT\nApache-2.0",
            "blocked_name_patterns": "evil-*, bad-*",
            "typosquat": "on",
            "typosquat_distance": "2",
            "require_verified_provenance": "on",
        },
        follow=True,
    )
    assert "The policies were saved" in saved.text
    config = admin.get("/v1/repos/team/policy").json
    assert config["max_artifact_size"] == 1000
    assert config["allowed_licenses"] == ["MIT", "Apache-2.0"]
    assert config["blocked_name_patterns"] == ["evil-*", "bad-*"]
    assert config["typosquat"] is True
    assert config["typosquat_distance"] == 2
    assert config["require_verified_provenance"] is True
    assert config["extra"] == {"third-party": {"on": True}}  # kept
    assert ">MIT\nApache-2.0</textarea>" in saved.text
    cleared = browser.post("/ui/repos/team/settings/policy", {}, follow=True)
    assert cleared.status_code == 200
    assert admin.get("/v1/repos/team/policy").json["allowed_licenses"] is None
    for bad in ({"max_artifact_size": "-1"}, {"typosquat_distance": "9"}):
        browser.get("/ui/repos/team/settings")
        assert browser.post("/ui/repos/team/settings/policy", bad).status_code == 400
    publish = admin.put("/generic/team/evil-x/1.0/a.txt", body=b"x")
    assert publish.status_code == 201  # the cleared policies block nothing


def test_an_admin_issues_a_first_token_for_a_new_user(api_factory, browser, client, admin):
    _admin_browser(api_factory, browser)
    browser.get("/ui/admin/people")
    browser.post("/ui/admin/people/users", {"name": "newbie"}, follow=True)
    issued = browser.post("/ui/admin/people/users/newbie/tokens", {})
    assert issued.status_code == 201
    secret = re.search(r'<code id="new-token">([^<]+)</code>', issued.text).group(1)
    who = client.simulate_get("/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert who.json["user"] == "newbie"
    assert secret not in browser.get("/ui/admin/people").text
    assert (
        admin.get("/v1/audit", params={"action": "token.create"}).json["entries"][0]["details"][
            "user"
        ]
        == "newbie"
    )


@pytest.mark.parametrize("settings_overrides", [{"webhook_allow_private": "true"}])
def test_a_repository_admin_adds_and_removes_webhooks(make_repo, api_factory, browser, admin):
    make_repo("team", "generic")
    browser.sign_in(api_factory.token_for("owner", roles={"team": ["admin"]}))
    browser.get("/ui/repos/team/settings")
    generated = browser.post(
        "/ui/repos/team/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["version.published"]},
    )
    assert generated.status_code == 201
    secret = re.search(r'<code id="hook-secret">([^<]+)</code>', generated.text).group(1)
    assert len(secret) >= 16
    given = browser.post(
        "/ui/repos/team/webhooks", {"url": "http://127.0.0.1:9/other", "secret": "s" * 20}
    )
    assert given.status_code == 303
    hooks = admin.get("/v1/repos/team/webhooks").json["webhooks"]
    assert sorted(h["url"] for h in hooks) == [
        "http://127.0.0.1:9/hook",
        "http://127.0.0.1:9/other",
    ]
    assert "secret" not in hooks[0]
    page = browser.get("/ui/repos/team/settings")
    assert secret not in page.text
    for bad in ({"url": "ftp://x"}, {"url": "http://127.0.0.1:9/", "secret": "short"}):
        browser.get("/ui/repos/team/settings")
        assert browser.post("/ui/repos/team/webhooks", bad).status_code == 400
    hook_id = hooks[0]["id"]
    assert browser.get(f"/ui/repos/team/webhooks/{hook_id}").status_code == 200
    browser.get("/ui/repos/team/settings")
    removed = browser.post(f"/ui/repos/team/webhooks/{hook_id}/delete", {}, follow=True)
    assert "were removed" in removed.text
    assert len(admin.get("/v1/repos/team/webhooks").json["webhooks"]) == 1


def test_webhooks_to_private_addresses_are_refused_by_default(make_repo, api_factory, browser):
    make_repo("team", "generic")
    browser.sign_in(api_factory.token_for("owner", roles={"team": ["admin"]}))
    browser.get("/ui/repos/team/settings")
    refused = browser.post("/ui/repos/team/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert refused.status_code == 400
