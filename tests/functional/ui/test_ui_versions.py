"""Writers yank, deprecate and delete versions from the package page; readers cannot."""

from __future__ import annotations

import re

from tests.functional.ui.conftest import publish_version


def _setup(admin, make_repo):
    make_repo("team", "generic")
    publish_version(admin, "team", "tool", "1.0", {"tool-1.0.tgz": b"one"})
    publish_version(admin, "team", "tool", "2.0", {"tool-2.0.tgz": b"two"})


def _version(admin, number):
    return admin.get(f"/v1/repos/team/packages/tool/versions/{number}")


def test_a_writer_yanks_deprecates_and_deletes(admin, make_repo, api_factory, browser):
    _setup(admin, make_repo)
    browser.sign_in(api_factory.token_for("wes", roles={"team": ["read", "write"]}))
    page = browser.get("/ui/repos/team/packages/tool", params={"version": "1.0"})
    assert 'action="/ui/repos/team/versions/yank"' in page.text
    fields = {"package": "tool", "version": "1.0"}
    yanked = browser.post(
        "/ui/repos/team/versions/yank", {**fields, "reason": "broken"}, follow=True
    )
    assert "The version is yanked" in yanked.text
    assert "yanked: broken" in yanked.text
    assert _version(admin, "1.0").json["yank_reason"] == "broken"
    browser.post("/ui/repos/team/versions/unyank", fields, follow=True)
    assert _version(admin, "1.0").json["yanked"] is False
    no_message = browser.post("/ui/repos/team/versions/deprecate", {**fields, "message": ""})
    assert no_message.status_code == 400
    browser.get("/ui/repos/team/packages/tool", params={"version": "1.0"})
    deprecated = browser.post(
        "/ui/repos/team/versions/deprecate", {**fields, "message": "use 2.0"}, follow=True
    )
    assert "deprecated: use 2.0" in deprecated.text
    browser.post("/ui/repos/team/versions/undeprecate", fields, follow=True)
    assert _version(admin, "1.0").json["deprecated"] is None
    deleted = browser.post("/ui/repos/team/versions/delete", fields, follow=True)
    assert "The version was deleted." in deleted.text
    assert _version(admin, "1.0").status_code == 404
    assert browser.get("/ui/repos/team/packages/tool", params={"version": "1.0"}).status_code == 404
    missing = browser.post("/ui/repos/team/versions/yank", {"package": "tool", "version": "9"})
    assert missing.status_code == 404
    actions = [e["action"] for e in admin.get("/v1/repos/team/audit").json["entries"]]
    for action in ("yank", "unyank", "deprecate", "undeprecate", "delete"):
        assert f"version.{action}" in actions


def test_a_reader_sees_no_version_controls_and_forged_changes_are_refused(
    admin, make_repo, api_factory, browser
):
    _setup(admin, make_repo)
    browser.sign_in(api_factory.token_for("rita", roles={"team": ["read"]}))
    page = browser.get("/ui/repos/team/packages/tool")
    assert "/ui/repos/team/versions/" not in page.text
    main = page.text.split("</header>", 1)[1]
    assert not re.search(r"<form\b", main)
    assert not re.search(r'<button(?![^>]*class="copy")', main)  # copy buttons only
    for action in ("yank", "delete"):
        forged = browser.post(
            f"/ui/repos/team/versions/{action}", {"package": "tool", "version": "2.0"}
        )
        assert forged.status_code == 403
    assert _version(admin, "2.0").json["yanked"] is False
    denied = admin.get("/v1/audit", params={"actor": "rita", "outcome": "denied"}).json["entries"]
    assert {e["action"] for e in denied} == {"version.yank", "version.delete"}


def test_a_read_only_session_of_a_writer_gets_no_controls(admin, make_repo, api_factory, browser):
    _setup(admin, make_repo)
    token = api_factory.token_for("wes", roles={"team": ["read", "write"]}, read_only=True)
    browser.sign_in(token)
    page = browser.get("/ui/repos/team/packages/tool")
    assert "/ui/repos/team/versions/" not in page.text


def test_a_repository_admin_restores_a_deleted_version(admin, make_repo, api_factory, browser):
    _setup(admin, make_repo)
    assert admin.delete("/v1/repos/team/packages/tool/versions/1.0").status_code == 200
    browser.sign_in(api_factory.token_for("owner", roles={"team": ["admin"]}))
    page = browser.get("/ui/repos/team/settings")
    assert "tool 1.0" in page.text
    restored = browser.post(
        "/ui/repos/team/settings/restore", {"package": "tool", "version": "1.0"}, follow=True
    )
    assert "The version was restored" in restored.text
    assert _version(admin, "1.0").json["state"] == "published"
    browser.get("/ui/repos/team/settings")
    again = browser.post("/ui/repos/team/settings/restore", {"package": "tool", "version": "1.0"})
    assert again.status_code == 404
