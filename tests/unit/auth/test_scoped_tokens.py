"""Scoped tokens: signed claims that verify only unaltered, unexpired and with our key."""

from __future__ import annotations

import time

from artifortress.auth import scoped

KEY = scoped.signing_key("a long random secret")


def claims(**overrides: object) -> scoped.Claims:
    fields: dict[str, object] = {
        "tenant_id": 1,
        "parent": "abcdefghijkl",
        "repos": frozenset({"containers"}),
        "read_only": True,
        "expires": int(time.time()) + 60,
    }
    return scoped.Claims(**(fields | overrides))  # type: ignore[arg-type]


def test_a_minted_token_verifies_to_its_claims() -> None:
    minted = scoped.mint(KEY, claims())
    assert minted.startswith("afst_")
    assert scoped.verify(KEY, minted) == claims()


def test_another_key_a_changed_claim_or_expiry_fails() -> None:
    minted = scoped.mint(KEY, claims())
    assert scoped.verify(scoped.signing_key("another secret"), minted) is None
    payload, signature = minted.removeprefix("afst_").split(".")
    widened = scoped.mint(KEY, claims(read_only=False)).removeprefix("afst_").split(".")[0]
    assert scoped.verify(KEY, f"afst_{widened}.{signature}") is None
    assert scoped.verify(KEY, f"afst_{payload}.") is None
    assert scoped.verify(KEY, "afst_not-base64!.x") is None
    expired = scoped.mint(KEY, claims(expires=int(time.time()) - 1))
    assert scoped.verify(KEY, expired) is None


def test_lifetimes_are_bounded() -> None:
    made = scoped.new_claims(1, None, ["r"], read_only=True, ttl_seconds=10**9)
    assert made.expires <= time.time() + scoped.MAX_TTL_SECONDS + 1
    assert made.parent is None


def test_a_token_for_every_repository_of_its_parent_keeps_none() -> None:
    unnarrowed = claims(repos=None)
    assert scoped.verify(KEY, scoped.mint(KEY, unnarrowed)) == unnarrowed
