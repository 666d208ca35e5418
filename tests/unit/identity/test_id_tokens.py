"""ID token validation against a loopback issuer whose keys the test holds.

The issuer here serves a discovery document and a JWKS over real HTTP; the test signs tokens
with the matching private keys, so it can also forge what no honest IdP would issue (``none``,
HS256 keyed with the public key, other issuers and audiences).  The validation of tokens that a
real OpenID provider issues is covered by tests/e2e/test_oidc_*.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from artifortress.identity.id_tokens import InvalidIdToken, IssuerKeys, TokenRules
from artifortress.identity.issuers import check_issuer_url

AUDIENCE = "artifortress-test"


class StaticIssuer:
    """Serves /.well-known/openid-configuration and /jwks on 127.0.0.1; keys swap at will."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_fetches = 0
        self.claimed_issuer: str | None = None
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body: dict[str, Any]
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.claimed_issuer or issuer.url,
                        "jwks_uri": issuer.url + "/jwks",
                    }
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.public_jwk(kid) for kid in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def new_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self, kid: str) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def sign(self, kid: str = "k1", algorithm: str = "RS256", **overrides: Any) -> str:
        return jwt.encode(self.claims(**overrides), self.keys[kid], algorithm, headers={"kid": kid})

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def issuer() -> Iterator[StaticIssuer]:
    served = StaticIssuer()
    served.new_key("k1")
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def keys() -> Iterator[IssuerKeys]:
    cache = IssuerKeys(refetch_interval_seconds=0)
    yield cache
    cache.close()


def rules(issuer: StaticIssuer) -> TokenRules:
    return TokenRules(issuer=issuer.url, audience=AUDIENCE)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())


def refused(keys: IssuerKeys, token: str, issuer: StaticIssuer, nonce: str | None = None) -> str:
    with pytest.raises(InvalidIdToken) as caught:
        keys.validate(token, rules(issuer), nonce=nonce)
    return caught.value.reason


def test_a_valid_token_gives_its_claims(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    claims = keys.validate(issuer.sign(nonce="n-1"), rules(issuer), nonce="n-1")
    assert claims["sub"] == "alice"
    assert keys.metadata(issuer.url)["jwks_uri"] == issuer.url + "/jwks"


def test_expired_beyond_the_leeway_is_refused(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    now = int(time.time())
    assert "expired" in refused(keys, issuer.sign(exp=now - 31, iat=now - 400), issuer)
    # Within the 30 s leeway: a clock a little behind the issuer's is forgiven.
    assert keys.validate(issuer.sign(exp=now - 10, iat=now - 400), rules(issuer))["sub"] == "alice"


def test_other_audience_issuer_and_missing_claims_are_refused(
    issuer: StaticIssuer, keys: IssuerKeys
) -> None:
    assert "audience" in refused(keys, issuer.sign(aud="someone-else"), issuer)
    assert "issuer" in refused(keys, issuer.sign(iss="https://evil.example"), issuer)
    assert "'sub'" in refused(keys, issuer.sign(sub=None), issuer)
    assert "azp" in refused(keys, issuer.sign(aud=[AUDIENCE, "other"], azp="other"), issuer)


def test_alg_none_is_refused(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    token = unsigned({"alg": "none", "kid": "k1"}, issuer.claims()) + "."
    assert "'none'" in refused(keys, token, issuer)


def test_hs256_keyed_with_the_public_key_is_refused(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    public_pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = unsigned({"alg": "HS256", "kid": "k1", "typ": "JWT"}, issuer.claims())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert "'HS256'" in refused(keys, signing_input + "." + b64(mac), issuer)


def test_a_signature_by_another_key_is_refused(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    genuine = issuer.sign()
    issuer.new_key("k2")
    forged = jwt.encode(issuer.claims(), issuer.keys["k2"], "RS256", headers={"kid": "k1"})
    assert keys.validate(genuine, rules(issuer))["sub"] == "alice"
    assert "signature" in refused(keys, forged, issuer)
    assert "not a well-formed" in refused(keys, "not.a.jwt", issuer)


def test_a_wrong_nonce_is_refused(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    assert "nonce" in refused(keys, issuer.sign(nonce="other-sign-in"), issuer, nonce="mine")
    assert "nonce" in refused(keys, issuer.sign(), issuer, nonce="mine")


def test_rotated_keys_are_fetched_again(issuer: StaticIssuer, keys: IssuerKeys) -> None:
    keys.validate(issuer.sign(), rules(issuer))
    issuer.keys.clear()
    issuer.new_key("k2")  # the IdP rotated: k1 gone, k2 signs
    assert keys.validate(issuer.sign(kid="k2"), rules(issuer))["sub"] == "alice"
    assert issuer.jwks_fetches == 2


def test_unknown_kids_refetch_at_most_once_per_interval(issuer: StaticIssuer) -> None:
    keys = IssuerKeys(refetch_interval_seconds=3600)
    keys.validate(issuer.sign(), rules(issuer))
    issuer.new_key("k9")
    for _ in range(5):
        assert "does not publish" in refused(keys, issuer.sign(kid="k9"), issuer)
    assert issuer.jwks_fetches == 1
    keys.close()


def test_a_discovery_document_naming_another_issuer_is_refused(
    issuer: StaticIssuer, keys: IssuerKeys
) -> None:
    issuer.claimed_issuer = "https://idp.example"
    assert "another issuer" in refused(keys, issuer.sign(), issuer)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://idp.example.com", True),
        ("http://127.0.0.1:8080/realms/x", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("http://idp.example.com", False),
        ("ftp://idp.example.com", False),
        ("https://idp.example.com/?q=1", False),
    ],
)
def test_issuer_urls_are_https_or_loopback(url: str, accepted: bool) -> None:
    if accepted:
        assert check_issuer_url(url) == url
    else:
        with pytest.raises(ValueError):
            check_issuer_url(url)
