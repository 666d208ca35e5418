"""A real OpenID provider for the tests: panva's oidc-provider (node) on 127.0.0.1.

``make test`` installs the npm package into ``.venv/share/oidc-provider``
(the Makefile's OIDC_PROVIDER target).  :func:`local_idp` starts one from a
config of clients and accounts (each account: the claims its ID tokens carry);
:func:`sign_in_at_idp` walks the provider's own login and consent pages over
plain HTTP; :func:`id_token_for` runs a whole authorization-code flow with PKCE
and returns the ID token, as a CI job's token request would get one.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from artifortress.testing.databases import service_missing

SCRIPT = Path(__file__).with_name("idp.mjs")
PROVIDER_ENTRY = Path(sys.prefix) / "share/oidc-provider/node_modules/oidc-provider/lib/index.js"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.DOTALL)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@dataclass(frozen=True)
class Client:
    """An OAuth client registered at the IdP (its ID tokens' audience is ``client_id``)."""

    client_id: str
    client_secret: str
    redirect_uris: Sequence[str]

    def metadata(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
        }


@dataclass
class LocalIdP:
    """One running oidc-provider; :meth:`restart` keeps the port and changes the signing key."""

    config_path: Path
    clients: Sequence[Client]
    accounts: Mapping[str, Mapping[str, Any]]
    id_token_ttl: int = 600
    issuer: str = ""
    kid: str = ""
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return urlsplit(self.issuer).port or 0

    def start(self) -> None:
        config = {
            "port": self.port,
            "clients": [c.metadata() for c in self.clients],
            "accounts": self.accounts,
            "id_token_ttl": self.id_token_ttl,
        }
        self.config_path.write_text(json.dumps(config))
        self._process = subprocess.Popen(
            ["node", str(SCRIPT), str(self.config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "OIDC_PROVIDER_MODULE": str(PROVIDER_ENTRY)},
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # one JSON line once it listens
        if not line:
            raise RuntimeError(f"oidc-provider did not start (exit {self._process.wait()})")
        started = json.loads(line)
        self.issuer, self.kid = started["issuer"], started["kid"]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Same issuer URL, a new signing key: what a key rotation looks like to relying parties."""
        self.stop()
        self.start()

    def client(self, client_id: str) -> Client:
        return next(c for c in self.clients if c.client_id == client_id)

    def endpoint(self, name: str) -> str:
        document = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
        value = document.json()[name]
        assert isinstance(value, str)
        return value


def require_oidc_provider() -> None:
    """Skip (locally) or fail (CI=true) when node or the npm package is missing."""
    if shutil.which("node") is None:
        service_missing("node (for the local OpenID provider)")
    if not PROVIDER_ENTRY.is_file():
        service_missing(f"oidc-provider (npm; `make test` installs it into {PROVIDER_ENTRY})")


@contextmanager
def local_idp(
    clients: Sequence[Client],
    accounts: Mapping[str, Mapping[str, Any]],
    *,
    id_token_ttl: int = 600,
) -> Iterator[LocalIdP]:
    """A running IdP with these clients and accounts (account id = the ``sub`` claim)."""
    require_oidc_provider()
    with tempfile.TemporaryDirectory(prefix="oidc-idp-") as scratch:
        idp = LocalIdP(Path(scratch) / "config.json", clients, accounts, id_token_ttl)
        idp.start()
        try:
            yield idp
        finally:
            idp.stop()


def sign_in_at_idp(
    session: requests.Session, url: str, account: str, *, stop_at: str
) -> requests.Response:
    """Follow redirects from *url*, signing in as *account* at the IdP's pages on the way.

    Stops at the first redirect to a URL starting with *stop_at* (e.g. the relying party's
    callback) and returns that redirect response, not followed: its Location carries the code
    and state.  Cookies of every host visited stay in *session*.
    """
    response = session.get(url, allow_redirects=False, timeout=30)
    for _ in range(20):
        location = response.headers.get("Location")
        if location is not None:
            target = urljoin(response.url, location)
            if target.startswith(stop_at):
                return response
            response = session.get(target, allow_redirects=False, timeout=30)
            continue
        response = _submit_interaction(session, response, account)
    raise AssertionError(f"no redirect to {stop_at} after 20 steps; last page {response.url}")


def _submit_interaction(
    session: requests.Session, page: requests.Response, account: str
) -> requests.Response:
    """Submit the login or consent form of the provider's devInteractions page."""
    match = _FORM.search(page.text)
    if page.status_code != 200 or match is None:
        raise AssertionError(f"expected an IdP login or consent page at {page.url}: {page.text}")
    fields = dict(_HIDDEN.findall(match.group(2)))
    if fields.get("prompt") == "login":
        fields.update(login=account, password="any password")
    action = urljoin(page.url, html.unescape(match.group(1)))
    return session.post(action, data=fields, allow_redirects=False, timeout=30)


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def id_token_for(
    idp: LocalIdP,
    account: str,
    client_id: str,
    *,
    scope: str = "openid",
    nonce: str | None = None,
) -> str:
    """An ID token the IdP issues to *client_id* for *account*: code flow with PKCE over HTTP."""
    client = idp.client(client_id)
    redirect_uri = client.redirect_uris[0]
    pkce, state = Pkce.new(), secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce or secrets.token_urlsafe(16),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    authorization = idp.endpoint("authorization_endpoint") + "?" + urlencode(query)
    with requests.Session() as session:
        redirect = sign_in_at_idp(session, authorization, account, stop_at=redirect_uri)
    answer = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert answer["state"] == [state], answer
    token = requests.post(
        idp.endpoint("token_endpoint"),
        data={
            "grant_type": "authorization_code",
            "code": answer["code"][0],
            "redirect_uri": redirect_uri,
            "code_verifier": pkce.verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=30,
    )
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"]
    assert isinstance(id_token, str)
    return id_token


# -- a gateway signing people in through the local IdP ---------------------------------------

#: The provider name the tests' gateways give the local IdP (URLs: /ui/sign-in/oidc/local).
PROVIDER = "local"
GATEWAY_CLIENT = "artifortress"
GATEWAY_SECRET = "dev-secret"


def gateway_client(base_url: str) -> Client:
    """The OAuth client of a gateway at *base_url*, whose callback is the provider's."""
    return Client(
        GATEWAY_CLIENT, GATEWAY_SECRET, [f"{base_url}/ui/sign-in/oidc/{PROVIDER}/callback"]
    )


def provider_setting(idp: LocalIdP, **options: Any) -> str:
    """ARTIFORTRESS_OIDC_PROVIDERS naming *idp* as provider ``local`` (plus *options*)."""
    provider = {
        "name": PROVIDER,
        "label": "Local IdP",
        "issuer": idp.issuer,
        "client_id": GATEWAY_CLIENT,
        "client_secret": GATEWAY_SECRET,
        **options,
    }
    return json.dumps([provider])


def ui_sign_in(session: requests.Session, base_url: str, account: str) -> requests.Response:
    """Sign in to the gateway's UI through the IdP as *account*: the callback's answer.

    Starts at the sign-in link, logs in at the IdP and GETs the gateway's callback once (not
    following its redirect): 303 to the next page with a session cookie, or 401 refused.
    """
    callback = f"{base_url}/ui/sign-in/oidc/{PROVIDER}/callback"
    start = f"{base_url}/ui/sign-in/oidc/{PROVIDER}?next=/ui/account"
    redirect = sign_in_at_idp(session, start, account, stop_at=callback)
    return session.get(redirect.headers["Location"], allow_redirects=False, timeout=30)
