"""Remote and virtual repositories in the UI's administration, through the real app."""

from __future__ import annotations

import pytest

PASSWORD = "hunter2-upstream-Pa55"
URL = "https://pypi.example/simple/"


def _boss(api_factory, browser):
    browser.sign_in(api_factory.token_for("boss", admin=True))
    browser.get("/ui/admin/repos/new")
    return browser


def _new(browser, fields):
    """Post the new-repository form as a browser fills it: every field, the unused ones empty."""
    form = {
        "format": "pypi",
        "description": "",
        "upstream_url": "",
        "upstream_username": "",
        "upstream_password": "",
        "metadata_ttl": "",
        "members": ["", "", ""],
        "merge_patterns": "",
        **fields,
    }
    return browser.post("/ui/admin/repos/new", form)


def test_a_tenant_admin_creates_a_remote_and_its_password_is_never_shown(
    api_factory, browser, admin
):
    page = _boss(api_factory, browser).last
    assert page is not None
    assert 'name="upstream_url"' in page.text
    fields = {
        "key": "up",
        "kind": "remote",
        "upstream_url": URL,
        "upstream_username": "bot",
        "upstream_password": PASSWORD,
        "metadata_ttl": "10m",
    }
    made = _new(browser, fields)
    assert made.status_code == 303, made.text
    settings = browser.get(made.headers["Location"])
    assert "The repository was created." in settings.text
    assert URL in settings.text
    assert 'value="bot"' in settings.text
    assert PASSWORD not in settings.text
    assert "one is stored; empty: keep it" in settings.text
    created = admin.get("/v1/repos/up").json
    assert created["kind"] == "remote"
    assert created["upstream"] == {"url": URL, "username": "bot", "password_set": True}
    assert created["metadata_ttl"] == 600
    repo_page = browser.get("/ui/repos/up")
    assert "remote" in repo_page.text
    assert f"<code>{URL}</code>" in repo_page.text
    # The empty password keeps the stored one; the checkbox forgets it.
    kept = browser.post(
        "/ui/repos/up/settings/kind",
        {"upstream_url": URL, "upstream_username": "bot", "metadata_ttl": "1h"},
        follow=True,
    )
    assert "Saved." in kept.text
    assert admin.get("/v1/repos/up").json["upstream"]["password_set"] is True
    assert admin.get("/v1/repos/up").json["metadata_ttl"] == 3600
    browser.post(
        "/ui/repos/up/settings/kind",
        {"upstream_url": URL, "upstream_username": "", "forget_password": "on"},
    )
    upstream = admin.get("/v1/repos/up").json["upstream"]
    assert (upstream["username"], upstream["password_set"]) == (None, False)
    audit = [e for e in admin.get("/v1/repos/up/audit").json["entries"]]
    assert PASSWORD not in str(audit)


def test_a_tenant_admin_creates_a_virtual_and_reorders_its_members(
    make_repo, api_factory, browser, admin
):
    make_repo("libs", "pypi")
    make_repo("more", "pypi")
    make_repo("files", "generic")
    page = _boss(api_factory, browser).last
    assert page is not None
    assert '<option value="libs">' in page.text
    made = _new(
        browser,
        {
            "key": "all",
            "kind": "virtual",
            "members": ["more", "", "libs"],
            "merge_patterns": "acme-*\n\nsetuptools*",
        },
    )
    assert made.status_code == 303, made.text
    created = admin.get("/v1/repos/all").json
    assert (created["kind"], created["members"]) == ("virtual", ["more", "libs"])
    assert created["merge_patterns"] == ["acme-*", "setuptools*"]
    settings = browser.get("/ui/repos/all/settings")
    assert 'name="members" list="member-keys" maxlength="64" value="more"' in settings.text
    assert '<option value="files">' not in settings.text  # another format: not suggested
    saved = browser.post(
        "/ui/repos/all/settings/kind",
        {"members": ["libs", "more", ""], "merge_patterns": ""},
        follow=True,
    )
    assert "Saved." in saved.text
    changed = admin.get("/v1/repos/all").json
    assert (changed["members"], changed["merge_patterns"]) == (["libs", "more"], [])
    repo_page = browser.get("/ui/repos/all")
    assert 'Members, in lookup order: <a href="/ui/repos/libs">libs</a>' in repo_page.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "remote", "upstream_url": "ftp://pypi.example/simple/"}, "http"),
        ({"kind": "remote", "upstream_url": URL, "metadata_ttl": "forever"}, "metadata ttl"),
        ({"kind": "remote", "upstream_url": "https://bot:pw@pypi.example/"}, "credentials"),
        ({"kind": "virtual", "members": ["files"]}, "members must share its format"),
        ({"kind": "virtual", "members": ["nowhere"]}, "no repository"),
        ({"kind": "virtual", "members": ["Bad Key"]}, "members.0"),
        ({"kind": "sideways"}, "unknown"),
    ],
)
def test_bad_kind_settings_are_a_form_error_and_create_nothing(
    make_repo, api_factory, browser, admin, fields, message
):
    make_repo("files", "generic")
    _boss(api_factory, browser)
    refused = _new(browser, {"key": "fresh", **fields})
    assert refused.status_code == 400, refused.text
    assert 'role="alert"' in refused.text
    assert message in refused.text
    assert admin.get("/v1/repos/fresh").status_code == 404
    assert 'value="fresh"' in refused.text  # the form again, as typed


def test_a_refused_settings_change_shows_the_form_again_and_changes_nothing(
    make_repo, api_factory, browser, admin
):
    make_repo("libs", "pypi")
    make_repo("files", "generic")
    make_repo("all", "pypi", kind="virtual", members=["libs"], merge_patterns=["acme-*"])
    _boss(api_factory, browser)
    browser.get("/ui/repos/all/settings")
    refused = browser.post(
        "/ui/repos/all/settings/kind", {"members": ["files", "libs"], "merge_patterns": "x-*"}
    )
    assert refused.status_code == 400
    assert "members must share its format" in refused.text
    assert 'maxlength="64" value="files"' in refused.text
    stored = admin.get("/v1/repos/all").json
    assert (stored["members"], stored["merge_patterns"]) == (["libs"], ["acme-*"])


def test_a_long_password_is_refused_without_being_echoed(api_factory, browser, admin):
    _boss(api_factory, browser)
    secret = "p" * 1025
    fields = {"key": "up", "kind": "remote", "upstream_url": URL, "upstream_password": secret}
    refused = _new(browser, fields)
    assert refused.status_code == 400
    assert secret not in refused.text
    assert admin.get("/v1/repos/up").status_code == 404


def test_readers_see_the_kind_but_no_controls_and_forged_posts_are_refused(
    make_repo, api_factory, new_browser, admin
):
    make_repo("libs", "pypi")
    upstream = {"url": URL, "username": "bot", "password": PASSWORD}
    make_repo("up", "pypi", kind="remote", upstream=upstream)
    make_repo("all", "pypi", kind="virtual", members=["libs", "up"])
    reader = new_browser()
    reader.sign_in(api_factory.token_for("rita", roles={k: ["read"] for k in ("up", "all")}))
    up = reader.get("/ui/repos/up")
    assert f"<code>{URL}</code>" in up.text
    assert "/settings" not in up.text
    assert PASSWORD not in up.text
    everything = reader.get("/ui/repos/all")
    assert '<a href="/ui/repos/up">up</a>' in everything.text
    assert "/ui/repos/libs" not in everything.text  # a member she may not read is not named
    assert reader.get("/ui/repos/up/settings").status_code == 403
    forged = reader.post("/ui/repos/up/settings/kind", {"upstream_url": "https://evil.example/"})
    assert forged.status_code == 403
    forged = reader.post("/ui/repos/all/settings/kind", {"members": ["up"]})
    assert forged.status_code == 403
    assert admin.get("/v1/repos/up").json["upstream"]["url"] == URL
    assert admin.get("/v1/repos/all").json["members"] == ["libs", "up"]
    # A tenant admin's form posted without its CSRF token (from another site) is refused too.
    boss = new_browser()
    boss.sign_in(api_factory.token_for("boss", admin=True))
    boss.get("/ui/repos/up/settings")
    cross_site = boss.post(
        "/ui/repos/up/settings/kind", {"upstream_url": "https://evil.example/"}, csrf="0" * 64
    )
    assert cross_site.status_code == 403
    assert admin.get("/v1/repos/up").json["upstream"]["url"] == URL


def test_a_repository_admin_keeps_the_upstream_url_but_changes_the_rest(
    make_repo, api_factory, browser, admin
):
    upstream = {"url": URL, "username": "bot", "password": PASSWORD}
    make_repo("up", "pypi", kind="remote", upstream=upstream)
    browser.sign_in(api_factory.token_for("owner", roles={"up": ["admin"]}))
    settings = browser.get("/ui/repos/up/settings")
    assert 'name="upstream_url"' not in settings.text
    assert "only a tenant administrator moves it" in settings.text
    saved = browser.post(
        "/ui/repos/up/settings/kind", {"upstream_username": "robot", "metadata_ttl": "30"}
    )
    assert saved.status_code == 303, saved.text
    changed = admin.get("/v1/repos/up").json
    assert (changed["upstream"]["username"], changed["metadata_ttl"]) == ("robot", 30)
    browser.get("/ui/repos/up/settings")
    moved = browser.post("/ui/repos/up/settings/kind", {"upstream_url": "https://evil.example/"})
    assert moved.status_code == 403
    assert admin.get("/v1/repos/up").json["upstream"]["url"] == URL


def test_a_hosted_repository_has_no_kind_form(make_repo, api_factory, browser):
    make_repo("libs", "pypi")
    _boss(api_factory, browser)
    settings = browser.get("/ui/repos/libs/settings")
    assert "/settings/kind" not in settings.text
    refused = browser.post("/ui/repos/libs/settings/kind", {"members": ["x"]})
    assert refused.status_code == 400
