"""Signing in with a token, sessions, CSRF, and the account page through the real app."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from artifortress.auth.web_sessions import WebSession
from tests.functional.ui.conftest import publish_version


def test_sign_in_sets_a_session_cookie_that_is_httponly_and_lax(api_factory, browser):
    token = api_factory.token_for("ann")
    browser.get("/ui/sign-in")
    answer = browser.post("/ui/sign-in", {"token": token, "next": "/ui/account"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/account"
    cookie = answer.cookies["af_session"]
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert cookie.path == "/ui"
    assert not cookie.secure  # plain HTTP here; Secure behind TLS (see below)
    assert token not in cookie.value
    account = browser.get("/ui/account")
    assert account.status_code == 200
    assert "My account: ann" in account.text


def test_the_cookie_is_secure_behind_tls(api_factory, browser):
    token = api_factory.token_for("ann")
    browser.get("/ui/sign-in")
    secure = browser.client.simulate_post(
        "/ui/sign-in",
        protocol="https",
        headers=browser._headers({"Content-Type": "application/x-www-form-urlencoded"}),
        body=f"token={token}&csrf={browser.csrf()}",
    )
    assert secure.status_code == 303
    assert secure.cookies["af_session"].secure


@pytest.mark.parametrize("settings_overrides", [{"trust_forwarded": "true"}])
def test_the_cookie_is_secure_behind_a_tls_terminating_proxy(api_factory, browser):
    token = api_factory.token_for("ann")
    browser.get("/ui/sign-in")
    answer = browser.client.simulate_post(
        "/ui/sign-in",
        headers=browser._headers(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-Proto": "https",
            }
        ),
        body=f"token={token}&csrf={browser.csrf()}",
    )
    assert answer.status_code == 303
    assert answer.cookies["af_session"].secure


def test_the_server_keeps_only_a_hash_of_the_session(api_factory, browser, services):
    browser.sign_in(api_factory.token_for("ann"))
    secret = browser.cookies["af_session"]
    with services.sessions() as db:
        stored = [row.secret_sha256 for row in db.query(WebSession).all()]
    assert len(stored) == 1
    assert secret not in stored[0]


def test_a_wrong_token_is_refused_with_the_form_again(browser):
    browser.get("/ui/sign-in")
    refused = browser.post("/ui/sign-in", {"token": "af_nope"})
    assert refused.status_code == 401
    assert "Signing in failed" in refused.text
    assert "af_session" not in browser.cookies
    assert "WWW-Authenticate" not in refused.headers


def test_sign_in_needs_the_forms_csrf_token(api_factory, browser, new_browser):
    token = api_factory.token_for("ann")
    browser.get("/ui/sign-in")
    forged = browser.post("/ui/sign-in", {"token": token}, csrf="0" * 64)
    assert forged.status_code == 403
    other_site = new_browser()  # no pre-session cookie at all: a cross-site post
    forged = other_site.post("/ui/sign-in", {"token": token}, csrf="0" * 64)
    assert forged.status_code == 403
    assert "af_session" not in other_site.cookies


def test_next_never_leaves_the_ui(api_factory, browser):
    token = api_factory.token_for("ann")
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/v1/tokens"):
        browser.get("/ui/sign-in")
        answer = browser.post("/ui/sign-in", {"token": token, "next": target})
        assert answer.headers["Location"] == "/ui/", target


def test_sign_out_ends_the_session(api_factory, browser):
    browser.sign_in(api_factory.token_for("ann"))
    session = browser.cookies["af_session"]
    browser.get("/ui/account")
    out = browser.post("/ui/sign-out", {})
    assert out.status_code == 303
    assert "af_session" not in browser.cookies
    browser.cookies["af_session"] = session  # a copy of the old cookie is worth nothing
    assert browser.get("/ui/account").status_code == 401


def test_revoking_the_token_ends_its_sessions(api_factory, browser):
    ann = api_factory.as_user("ann")
    browser.sign_in(ann.token)
    assert browser.get("/ui/account").status_code == 200
    key_id = ann.get("/v1/whoami").json["token"]
    assert ann.delete(f"/v1/tokens/{key_id}").status_code == 200
    assert browser.get("/ui/account").status_code == 401


def test_disabling_the_user_ends_their_sessions(admin, api_factory, browser):
    browser.sign_in(api_factory.token_for("ann"))
    assert admin.patch("/v1/users/ann", {"disabled": True}).status_code == 200
    assert browser.get("/ui/account").status_code == 401


def test_an_authorization_header_does_not_sign_anyone_in(api_factory, client):
    token = api_factory.token_for("ann")
    page = client.simulate_get(
        "/ui/account", headers={"Authorization": f"Bearer {token}", "Accept": "text/html"}
    )
    assert page.status_code == 401


def test_token_created_in_the_ui_is_shown_once_and_works(api_factory, browser, client):
    browser.sign_in(api_factory.token_for("ann"))
    browser.get("/ui/account")
    created = browser.post(
        "/ui/account/tokens", {"name": "ci job", "ttl_days": "7", "read_only": "on"}
    )
    assert created.status_code == 201, created.text
    secret = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
    who = client.simulate_get("/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert who.status_code == 200
    assert who.json["read_only"] is True
    again = browser.get("/ui/account")
    assert secret not in again.text
    assert "ci job" in again.text


def test_token_revoked_in_the_ui_stops_working(api_factory, browser, client):
    ann = api_factory.as_user("ann")
    other = api_factory.token_for("ann")
    key_id = other.split("_")[1] if other.count("_") >= 2 else None
    browser.sign_in(ann.token)
    page = browser.get("/ui/account")
    forms = re.findall(r'action="/ui/account/tokens/([^/"]+)/revoke"', page.text)
    assert len(forms) == 2
    session_key = ann.get("/v1/whoami").json["token"]
    target = next(k for k in forms if k != session_key)
    assert key_id is None or target == key_id
    revoked = browser.post(f"/ui/account/tokens/{target}/revoke", {}, follow=True)
    assert revoked.status_code == 200
    assert "no longer works" in revoked.text
    answer = client.simulate_get("/v1/whoami", headers={"Authorization": f"Bearer {other}"})
    assert answer.status_code == 401


def test_forged_form_posts_are_refused_and_change_nothing(api_factory, browser, client):
    ann = api_factory.as_user("ann")
    browser.sign_in(ann.token)
    browser.get("/ui/account")
    key_id = ann.get("/v1/whoami").json["token"]
    no_token = browser.post(f"/ui/account/tokens/{key_id}/revoke", {}, csrf="")
    wrong = browser.post(f"/ui/account/tokens/{key_id}/revoke", {}, csrf="f" * 64)
    created = browser.post("/ui/account/tokens", {"name": "forged"}, csrf="f" * 64)
    assert no_token.status_code == wrong.status_code == created.status_code == 403
    assert ann.get("/v1/whoami").status_code == 200
    names = [t["name"] for t in ann.get("/v1/tokens").json["tokens"]]
    assert "forged" not in names
    json_post = browser.client.simulate_post(
        "/ui/account/tokens",
        headers=browser._headers({"Content-Type": "application/json"}),
        json={"name": "forged", "csrf": browser.csrf()},
    )
    assert json_post.status_code == 415


def test_a_restricted_session_cannot_manage_tokens(api_factory, browser):
    browser.sign_in(api_factory.token_for("ann", read_only=True))
    page = browser.get("/ui/account")
    assert page.status_code == 200
    assert "read-only" in page.text
    assert 'action="/ui/account/tokens"' not in page.text


def test_account_lists_my_roles(admin, make_repo, api_factory, browser):
    make_repo("libs", "generic")
    browser.sign_in(api_factory.token_for("ann", roles={"libs": ["read", "write"]}))
    page = browser.get("/ui/account")
    assert re.search(r"libs</a>: read", page.text)
    assert re.search(r"libs</a>: write", page.text)


def test_a_reader_sees_private_packages_but_no_admin_controls(
    admin, make_repo, api_factory, browser
):
    make_repo("team", "generic")
    publish_version(admin, "team", "tool", "1.0", {"tool.tgz": b"t"})
    browser.sign_in(api_factory.token_for("rita", roles={"team": ["read"]}))
    home = browser.get("/ui/")
    assert "/ui/repos/team" in home.text
    assert "/ui/admin/" not in home.text
    package = browser.get("/ui/repos/team/packages/tool")
    assert package.status_code == 200
    assert "<form" not in package.text.split("</header>", 1)[1]  # no write control on the page
    quarantine = browser.get("/ui/admin/quarantine")
    assert quarantine.status_code == 403
    audit = browser.get("/ui/admin/audit")
    assert audit.status_code == 403
    browser.get("/ui/account")
    forged = browser.post("/ui/admin/quarantine/1/release", {})
    assert forged.status_code == 403
    denied = admin.get("/v1/audit", params={"actor": "rita", "outcome": "denied"}).json["entries"]
    assert {e["action"] for e in denied} >= {"quarantine.list", "audit.read", "quarantine.release"}


def test_files_of_a_private_repository_download_with_the_session(
    admin, make_repo, api_factory, browser, new_browser
):
    make_repo("team", "generic")
    publish_version(admin, "team", "tool", "1.0", {"tool 1.tgz": b"tool bytes"})
    browser.sign_in(api_factory.token_for("rita", roles={"team": ["read"]}))
    page = browser.get("/ui/repos/team/packages/tool")
    link = re.search(r'href="(/ui/repos/team/files/sha256:[0-9a-f]{64}/tool%201\.tgz)"', page.text)
    assert link, page.text
    download = browser.get(link.group(1))
    assert download.status_code == 200
    assert download.content == b"tool bytes"
    assert 'filename="tool 1.tgz"' in download.headers["Content-Disposition"]
    assert new_browser().get(link.group(1)).status_code == 401


def test_a_token_form_with_bad_values_comes_back_saying_what_to_fix(api_factory, browser):
    browser.sign_in(api_factory.token_for("ann"))
    browser.get("/ui/account")
    for fields, message in (
        ({"name": "", "ttl_days": "7"}, "needs a name"),
        ({"name": "x", "ttl_days": "9999"}, "ttl_days must be between 1 and"),
        ({"name": "x", "ttl_days": "soon"}, "number of days"),
        ({"name": "x", "repos": ["Not A Repo"]}, "is not a repository key"),
    ):
        answer = browser.post("/ui/account/tokens", fields)
        assert answer.status_code == 400, fields
        assert message in answer.text
        assert 'action="/ui/account/tokens"' in answer.text  # the form again
        assert "new-token" not in answer.text


def test_the_ui_is_not_imported_until_its_first_request():
    probe = (
        "import sys, artifortress.app, artifortress.cli; "
        "heavy = [m for m in ('jinja2', 'nh3', 'readme_renderer', 'docutils', 'comrak', "
        "'artifortress.ui.web') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout
