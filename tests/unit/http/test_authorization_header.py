"""Reading a token out of ``Authorization`` (``artifortress.http.credentials``)."""

from __future__ import annotations

import base64

import pytest

from artifortress.errors import Unauthenticated
from artifortress.http.credentials import token_from_header

TOKEN = "afpat_abcdefghijkl_" + "a" * 52


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER   {TOKEN}  ",
        _basic(f"__token__:{TOKEN}".encode()),
        _basic(f"alice:{TOKEN}".encode()),
        _basic(f":{TOKEN}".encode()),  # empty user name
        _basic(f"user@example.com:{TOKEN}".encode()).replace("Basic", "basic"),
    ],
)
def test_bearer_and_basic_with_any_user_name_carry_the_token(header):
    assert token_from_header(header) == TOKEN


def test_basic_password_is_everything_after_the_first_colon():
    # "a:b:TOKEN": user "a", password "b:TOKEN" (RFC 7617); such a password is no token.
    assert token_from_header(_basic(f"a:b:{TOKEN}".encode())) == f"b:{TOKEN}"


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_is_anonymous(header):
    assert token_from_header(header) is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer    ",
        "Token " + TOKEN,
        TOKEN,
        "Digest username=x",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        _basic(b"alice:"),
        _basic(b"\xff\xfe:\xff"),
    ],
)
def test_malformed_authorization_is_401(header):
    with pytest.raises(Unauthenticated):
        token_from_header(header)
