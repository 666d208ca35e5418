"""The personal access token format, hashing and comparison (``artifortress.auth.tokens``)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re

import pytest

from artifortress.auth import tokens


def test_new_token_has_the_scanner_prefix_and_parses_back():
    token, key_id, digest = tokens.new_token()
    assert token.startswith("afpat_")
    assert re.fullmatch(r"afpat_[a-z2-7]{12}_[a-z2-7]{52}", token)
    parsed = tokens.parse_token(token)
    assert parsed is not None
    assert parsed[0] == key_id
    assert digest == hashlib.sha256(parsed[1].encode()).hexdigest()


def test_the_stored_digest_reveals_neither_token_nor_secret():
    token, _key_id, digest = tokens.new_token()
    secret = token.rsplit("_", 1)[1]
    assert secret not in digest
    assert digest != secret
    assert len(digest) == 64


def test_secrets_carry_enough_entropy_and_never_repeat():
    made = [tokens.new_token() for _ in range(500)]
    assert len({token for token, _, _ in made}) == 500
    assert len({key for _, key, _ in made}) == 500
    # 52 base32 characters: 260 bits, far beyond brute force of an unsalted SHA-256.
    assert tokens.SECRET_LENGTH * math.log2(32) >= 256


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "afpat_",
        "ghp_abcdefghijkl_" + "a" * 52,
        "afpat_abcdefghijkl",
        "afpat_abcdefghijk_" + "a" * 52,  # key id one short
        "afpat_abcdefghijkl_" + "a" * 51,  # secret one short
        "afpat_abcdefghijkl_" + "a" * 53,
        "afpat_ABCDEFGHIJKL_" + "a" * 52,  # upper case is not base32 here
        "afpat_abcdefghijk1_" + "a" * 52,  # 1 is not in the base32 alphabet
        "AFPAT_abcdefghijkl_" + "a" * 52,
        "afpat_abcdefghijkl_" + "a" * 52 + "\n x",
    ],
)
def test_parse_rejects_what_is_not_a_token(raw):
    assert tokens.parse_token(raw) is None


def test_secret_matches_only_the_right_secret():
    token, _key_id, digest = tokens.new_token()
    secret = token.rsplit("_", 1)[1]
    assert tokens.secret_matches(secret, digest)
    assert not tokens.secret_matches(secret[:-1] + ("a" if secret[-1] != "a" else "b"), digest)
    assert not tokens.secret_matches("", digest)


def test_secret_comparison_is_constant_time(monkeypatch):
    """The digest comparison goes through hmac.compare_digest, never ``==``."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    token, _key_id, digest = tokens.new_token()
    secret = token.rsplit("_", 1)[1]
    assert tokens.secret_matches(secret, digest)
    assert not tokens.secret_matches("x" * 52, digest)
    assert calls == [(digest, digest), (tokens.hash_secret("x" * 52), digest)]


def test_redact_tokens_keeps_the_key_id_and_drops_every_secret():
    token, key_id, _ = tokens.new_token()
    text = f"DELETE /npm/js/-/user/token/{token}?t={token} 200"
    redacted = tokens.redact_tokens(text)
    assert token.split("_")[2] not in redacted
    assert redacted == (
        f"DELETE /npm/js/-/user/token/afpat_{key_id}_[redacted]?t=afpat_{key_id}_[redacted] 200"
    )
    assert tokens.redact_tokens("GET /pypi/py/simple/ 200") == "GET /pypi/py/simple/ 200"
