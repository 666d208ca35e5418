"""ID tokens of a real OpenID provider (oidc-provider on loopback) through IssuerKeys.

The forgeries no honest IdP issues (alg none, HS256 keyed with the public key) are in
tests/unit/identity/test_id_tokens.py; here: what a real provider hands out, and its rotation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from artifortress.identity.id_tokens import InvalidIdToken, IssuerKeys, TokenRules
from tests.support.oidc_idp import Client, LocalIdP, id_token_for, local_idp

pytestmark = [pytest.mark.e2e]

GITHUB_CLAIMS = {
    "repository": "octo/pkg",
    "repository_owner": "octo",
    "workflow_ref": "octo/pkg/.github/workflows/release.yml@refs/tags/v1",
    "job_workflow_ref": "octo/pkg/.github/workflows/release.yml@refs/tags/v1",
    "ref": "refs/tags/v1",
    "environment": "pypi",
}
CLIENTS = [
    Client("artifortress", "secret-a", ["http://127.0.0.1:9/callback"]),
    Client("other-app", "secret-b", ["http://127.0.0.1:9/other"]),
]
ACCOUNTS = {
    "alice": {"preferred_username": "alice", "groups": ["devs"]},
    "repo:octo/pkg:environment:pypi": GITHUB_CLAIMS,
}


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdP]:
    with local_idp(CLIENTS, ACCOUNTS) as running:
        yield running


def rules(idp: LocalIdP, **changes: object) -> TokenRules:
    return TokenRules(issuer=idp.issuer, audience="artifortress", **changes)  # type: ignore[arg-type]


def test_the_idps_tokens_validate_with_their_claims(idp: LocalIdP) -> None:
    keys = IssuerKeys()
    claims = keys.validate(
        id_token_for(idp, "alice", "artifortress", nonce="n1"), rules(idp), nonce="n1"
    )
    assert (claims["sub"], claims["groups"], claims["iss"]) == ("alice", ["devs"], idp.issuer)
    ci = "repo:octo/pkg:environment:pypi"
    first = keys.validate(id_token_for(idp, ci, "artifortress"), rules(idp))
    second = keys.validate(id_token_for(idp, ci, "artifortress"), rules(idp))
    assert {k: first[k] for k in GITHUB_CLAIMS} == GITHUB_CLAIMS
    assert first["jti"] != second["jti"]


def test_wrong_audience_issuer_and_nonce_are_refused(idp: LocalIdP) -> None:
    keys = IssuerKeys()
    with pytest.raises(InvalidIdToken, match="another audience"):
        keys.validate(id_token_for(idp, "alice", "other-app"), rules(idp))
    token = id_token_for(idp, "alice", "artifortress", nonce="first-sign-in")
    with pytest.raises(InvalidIdToken, match="nonce"):
        keys.validate(token, rules(idp), nonce="second-sign-in")
    # A second, equally real issuer: its rules do not accept the first one's tokens.
    with local_idp(CLIENTS, ACCOUNTS) as elsewhere, pytest.raises(InvalidIdToken):
        keys.validate(token, TokenRules(issuer=elsewhere.issuer, audience="artifortress"))


def test_an_expired_token_is_refused() -> None:
    with local_idp(CLIENTS, ACCOUNTS, id_token_ttl=1) as short_lived:
        token = id_token_for(short_lived, "alice", "artifortress")
        time.sleep(2.1)
        with pytest.raises(InvalidIdToken, match="expired"):
            IssuerKeys().validate(token, rules(short_lived, leeway_seconds=0))


def test_a_restarted_idp_with_a_new_key_still_validates() -> None:
    keys = IssuerKeys(refetch_interval_seconds=0)
    with local_idp(CLIENTS, ACCOUNTS) as idp:
        before = id_token_for(idp, "alice", "artifortress")
        keys.validate(before, rules(idp))
        old_kid = idp.kid
        idp.restart()
        after = id_token_for(idp, "alice", "artifortress")
        assert jwt.get_unverified_header(after)["kid"] == idp.kid != old_kid
        assert keys.validate(after, rules(idp))["sub"] == "alice"
        with pytest.raises(InvalidIdToken, match="does not publish"):
            keys.validate(before, rules(idp))  # the old key is gone from the JWKS
