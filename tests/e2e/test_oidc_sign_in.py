"""Signing in to the UI and the CLI through a real OpenID provider (oidc-provider, loopback).

One gateway (``artifortress serve``) with the local IdP as provider ``local``: just-in-time
provisioning, group mapping, a session like the token form's, refusals (replayed or foreign
callback, wrong state, disabled user, a name taken by an unlinked account), an IdP that
renamed a person or rotated its key, and ``artifortress login --oidc`` end to end.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from artifortress.testing.databases import postgres_database
from artifortress.testing.server import ServerProcess, artifortress_command, clean_environ, run_cli
from tests.support.oidc_idp import (
    LocalIdP,
    gateway_client,
    local_idp,
    provider_setting,
    sign_in_at_idp,
    ui_sign_in,
)

pytestmark = [pytest.mark.e2e]

TIMEOUT = 10
ACCOUNTS: dict[str, dict[str, Any]] = {
    "sub-alice": {"preferred_username": "alice", "groups": ["devs", "unmapped"]},
    "sub-bob": {"preferred_username": "bob", "groups": []},
    "sub-carol": {"preferred_username": "carol"},
    "sub-dave": {"preferred_username": "dave", "groups": ["devs"]},
    "sub-gina": {"preferred_username": "gina-at-idp"},
}


@dataclass
class Site:
    server: ServerProcess
    idp: LocalIdP
    admin: dict[str, str]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, self.server.base_url + path, headers=self.admin, timeout=TIMEOUT, **kwargs
        )

    def audit(self, action: str) -> list[dict[str, Any]]:
        rows = self.api("GET", f"/v1/audit?action={action}").json()["entries"]
        assert isinstance(rows, list)
        return rows


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("oidc") / "home"
    with ExitStack() as stack:
        environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_THREADS": "4"}
        if request.param == "postgresql":
            environ["ARTIFORTRESS_DATABASE_URL"] = stack.enter_context(postgres_database("af_oidc"))
            run_cli(["db", "upgrade"], clean_environ({"ARTIFORTRESS_HOME": str(home), **environ}))
        server = ServerProcess(home, environ)
        idp = stack.enter_context(local_idp([gateway_client(server.base_url)], ACCOUNTS))
        server.environ["ARTIFORTRESS_OIDC_PROVIDERS"] = provider_setting(
            idp, groups_claim="groups", group_mapping={"devs": "developers", "ops": "operators"}
        )
        stack.enter_context(server)
        token = server.cli("admin", "create-token", "--user", "admin", "--admin")
        admin = {"Authorization": f"Bearer {token.stdout.split()[-1]}"}
        site = Site(server, idp, admin)
        for group in ("developers", "operators"):
            assert site.api("POST", "/v1/groups", json={"name": group}).status_code == 201
        yield site


def test_first_sign_in_provisions_the_user_maps_groups_and_opens_a_session(site: Site) -> None:
    page = requests.get(f"{site.server.base_url}/ui/sign-in", timeout=TIMEOUT)
    assert 'href="/ui/sign-in/oidc/local?next=' in page.text
    assert "Sign in with Local IdP" in page.text
    with requests.Session() as browser:
        answer = ui_sign_in(browser, site.server.base_url, "sub-alice")
        assert answer.status_code == 303, answer.text
        assert answer.headers["Location"] == "/ui/account"
        account = browser.get(f"{site.server.base_url}/ui/account", timeout=TIMEOUT)
        assert account.status_code == 200
        assert "My account: alice" in account.text
        assert "ui sign-in via local" in account.text  # the session's token, as the form's
    assert site.api("GET", "/v1/groups/developers").json()["members"] == ["alice"]
    assert site.api("GET", "/v1/groups/operators").json()["members"] == []
    provisioned = site.audit("oidc.provision")
    assert [(r["actor"], r["target"]) for r in provisioned] == [("alice", "alice")]
    assert any(r["target"] == "alice" for r in site.audit("oidc.sign_in"))
    providers = site.api("GET", "/v1/oidc/providers").json()["providers"]
    assert providers[0]["client_secret_set"] is True
    assert "dev-secret" not in str(providers)
    assert "dev-secret" not in site.server.output
    # The IdP's authorization code stays out of the access log (written just after answering).
    deadline = time.monotonic() + 5
    while "GET /ui/sign-in/oidc/local/callback " not in site.server.stderr:
        assert time.monotonic() < deadline, "the callback was not logged"
        time.sleep(0.1)
    assert "/callback?" not in site.server.stderr


def test_replayed_foreign_and_forged_callbacks_are_refused(site: Site) -> None:
    base = site.server.base_url
    with requests.Session() as browser:
        answer = ui_sign_in(browser, base, "sub-bob")
        assert answer.status_code == 303
        replay = browser.get(answer.request.url or "", allow_redirects=False, timeout=TIMEOUT)
        assert replay.status_code == 401
        assert "already used" in replay.text
    with requests.Session() as browser:
        forged = browser.get(
            f"{base}/ui/sign-in/oidc/local/callback?code=x&state=made-up", timeout=TIMEOUT
        )
        assert forged.status_code == 401
        assert "already used" in forged.text
    # A callback URL carried to another browser (login CSRF) signs no one in there.
    callback = f"{base}/ui/sign-in/oidc/local/callback"
    with requests.Session() as victim, requests.Session() as attacker:
        redirect = sign_in_at_idp(
            attacker, f"{base}/ui/sign-in/oidc/local", "sub-bob", stop_at=callback
        )
        carried = victim.get(redirect.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
        assert carried.status_code == 401
        assert "started elsewhere" in carried.text
        assert "af_session" not in victim.cookies
    denied = [r for r in site.audit("oidc.sign_in") if r["outcome"] == "denied"]
    assert len(denied) >= 3


def test_a_disabled_user_cannot_sign_in(site: Site) -> None:
    with requests.Session() as browser:
        assert ui_sign_in(browser, site.server.base_url, "sub-dave").status_code == 303
    assert site.api("PATCH", "/v1/users/dave", json={"disabled": True}).status_code == 200
    with requests.Session() as browser:
        refused = ui_sign_in(browser, site.server.base_url, "sub-dave")
        assert refused.status_code == 401
        assert "disabled" in refused.text
        assert "af_session" not in browser.cookies


def test_a_name_taken_by_an_unlinked_account_is_not_handed_over(site: Site) -> None:
    assert site.api("POST", "/v1/users", json={"name": "carol"}).status_code == 201
    with requests.Session() as browser:
        refused = ui_sign_in(browser, site.server.base_url, "sub-carol")
        assert refused.status_code == 401
        assert "not linked to this identity" in refused.text


def _token_session(site: Site, browser: requests.Session, user: str) -> None:
    """Sign *browser* in to the UI with a new token of *user* (the token form)."""
    issued = site.api("POST", "/v1/tokens", json={"name": "first", "user": user})
    assert issued.status_code == 201, issued.text
    form = browser.get(f"{site.server.base_url}/ui/sign-in", timeout=TIMEOUT)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    signed_in = browser.post(
        f"{site.server.base_url}/ui/sign-in",
        data={"csrf": csrf.group(1), "token": issued.json()["token"], "next": "/ui/account"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert signed_in.status_code == 303


def _link(site: Site, browser: requests.Session, account: str) -> requests.Response:
    """Press "Link" for the local IdP on the account page, sign in there as *account*."""
    base = site.server.base_url
    page = browser.get(f"{base}/ui/account", timeout=TIMEOUT)
    assert "Sign-in providers" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    started = browser.post(
        f"{base}/ui/sign-in/oidc/local",
        data={"csrf": csrf.group(1)},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert started.status_code == 303
    callback = f"{base}/ui/sign-in/oidc/local/callback"
    redirect = sign_in_at_idp(browser, started.headers["Location"], account, stop_at=callback)
    return browser.get(redirect.headers["Location"], allow_redirects=False, timeout=TIMEOUT)


def _sign_out_at_idp(browser: requests.Session) -> None:
    """Forget the IdP's cookies (all but the gateway's, under /ui): the next visit logs in."""
    for cookie in list(browser.cookies):
        if cookie.path != "/ui":
            browser.cookies.clear(cookie.domain, cookie.path, cookie.name)


def test_an_existing_account_links_the_provider_then_signs_in_with_it(site: Site) -> None:
    assert site.api("POST", "/v1/users", json={"name": "gina"}).status_code == 201
    with requests.Session() as browser:
        _token_session(site, browser, "gina")
        taken = _link(site, browser, "sub-alice")  # alice's identity is hers
        assert taken.status_code == 401
        assert "already linked to another account" in taken.text
        _sign_out_at_idp(browser)
        linked = _link(site, browser, "sub-gina")
        assert linked.headers["Location"] == "/ui/account?notice=linked"
        page = browser.get(f"{site.server.base_url}/ui/account", timeout=TIMEOUT)
        assert "linked, you sign in with it" in page.text
    with requests.Session() as browser:
        assert ui_sign_in(browser, site.server.base_url, "sub-gina").status_code == 303
        page = browser.get(f"{site.server.base_url}/ui/account", timeout=TIMEOUT)
        assert "My account: gina" in page.text
    assert [r["actor"] for r in site.audit("oidc.link")] == ["gina"]


def test_cli_login_gets_a_token_approved_in_the_browser(site: Site) -> None:
    base = site.server.base_url
    cli = subprocess.Popen(
        [artifortress_command(), "login", "--oidc", "--url", base],
        env=site.server.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stderr is not None
        line = cli.stderr.readline()
        found = re.search(r"Open (\S+)", line)
        assert found, line
        with requests.Session() as browser:
            assert ui_sign_in(browser, base, "sub-bob").status_code == 303
            page = browser.get(found.group(1), timeout=TIMEOUT)
            assert page.status_code == 200
            assert "Approve" in page.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            code = re.search(r'name="user_code"[^>]*value="([^"]+)"', page.text)
            assert csrf
            assert code
            approved = browser.post(
                f"{base}/ui/device",
                data={"csrf": csrf.group(1), "user_code": code.group(1), "decision": "approve"},
                timeout=TIMEOUT,
            )
            assert approved.status_code == 200
            assert "Approved" in approved.text
        stdout, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, stderr
    token = stdout.strip()
    whoami = requests.get(
        f"{base}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )
    assert whoami.json()["user"] == "bob"
    assert [r["actor"] for r in site.audit("oidc.device.token")] == ["bob"]


def test_a_device_code_gives_one_token_and_a_denied_one_none(site: Site) -> None:
    base = site.server.base_url
    started = requests.post(f"{base}/v1/oidc/device", json={}, timeout=TIMEOUT).json()
    poll = {"device_code": started["device_code"]}
    pending = requests.post(f"{base}/v1/oidc/device/token", json=poll, timeout=TIMEOUT)
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    with requests.Session() as browser:
        assert ui_sign_in(browser, base, "sub-bob").status_code == 303
        page = browser.get(started["verification_uri_complete"], timeout=TIMEOUT)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        denied = browser.post(
            f"{base}/ui/device",
            data={"csrf": csrf.group(1), "user_code": started["user_code"], "decision": "deny"},
            timeout=TIMEOUT,
        )
        assert denied.status_code == 200
        assert "Denied" in denied.text
    time.sleep(2)
    refused = requests.post(f"{base}/v1/oidc/device/token", json=poll, timeout=TIMEOUT)
    assert (refused.status_code, refused.json()["error"]) == (400, "access_denied")
    unknown = requests.post(
        f"{base}/v1/oidc/device/token", json={"device_code": "nope"}, timeout=TIMEOUT
    )
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")


def test_a_renamed_person_and_a_rotated_key(site: Site) -> None:
    """The IdP restarts with a new key and alice renamed to bob: she is still alice."""
    site.idp.accounts = {**ACCOUNTS, "sub-alice": {"preferred_username": "bob", "groups": []}}
    site.idp.restart()
    time.sleep(5)  # the gateway refetches an unknown key at most every 5 s
    with requests.Session() as browser:
        answer = ui_sign_in(browser, site.server.base_url, "sub-alice")
        assert answer.status_code == 303, answer.text
        account = browser.get(f"{site.server.base_url}/ui/account", timeout=TIMEOUT)
        assert "My account: alice" in account.text
    # Her IdP groups no longer name devs: the mapped membership is gone.
    assert "alice" not in site.api("GET", "/v1/groups/developers").json()["members"]
