"""Signed tokens no honest issuer sends: refused with a reason, never an exception.

An ``oidc`` trusted publisher may name any issuer, an attacker's too, which signs anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from artifortress.identity.id_tokens import IssuerKeys
from tests.unit.identity.test_id_tokens import StaticIssuer, refused


@pytest.fixture
def issuer() -> Iterator[StaticIssuer]:
    served = StaticIssuer()
    served.new_key("k1")
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": float("inf")},
        {"iat": float("inf")},
        {"nbf": float("-inf")},
        {"exp": "soon"},
        {"aud": ["artifortress-test", 7], "azp": None},
    ],
)
def test_odd_signed_claims_are_refused(issuer: StaticIssuer, claims: dict[str, Any]) -> None:
    keys = IssuerKeys()
    try:
        assert refused(keys, issuer.sign(**claims), issuer)
    finally:
        keys.close()


@pytest.mark.parametrize("token", ["\ud800", "a.\ud800.b", "\u00e9.e30.e30"])
def test_tokens_that_are_not_ascii_are_refused(issuer: StaticIssuer, token: str) -> None:
    keys = IssuerKeys()
    try:
        assert "well-formed" in refused(keys, token, issuer)
    finally:
        keys.close()
