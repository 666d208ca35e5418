"""The personal access token format: ``afpat_<key id>_<secret>``.

The fixed ``afpat_`` prefix lets secret scanners recognise a leaked token.  The
key id is public (it is the token's id in the API) and finds the row; the
secret carries 260 bits of entropy and only its SHA-256 is stored.  A salted
slow hash would add nothing against brute force of a secret this long.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

PREFIX = "afpat_"
KEY_ID_LENGTH = 12
SECRET_LENGTH = 52
_TOKEN = re.compile(rf"^{PREFIX}([a-z2-7]{{{KEY_ID_LENGTH}}})_([a-z2-7]{{{SECRET_LENGTH}}})$")


#: A token anywhere in a text (a URL, a message): the secret part, up to any separator.
_TOKEN_IN_TEXT = re.compile(rf"({PREFIX}[a-z2-7]{{{KEY_ID_LENGTH}}}_)[A-Za-z0-9]+")


def redact_tokens(text: str) -> str:
    """*text* with the secret of every token in it replaced; the key id stays, to trace it.

    Clients put tokens in URLs (``npm logout`` sends its token in the path):
    what is logged must never carry a secret.
    """
    if PREFIX not in text:  # nearly always: no regular expression
        return text
    return _TOKEN_IN_TEXT.sub(r"\1[redacted]", text)


def _random_b32(nbytes: int, length: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()[:length]


def new_token() -> tuple[str, str, str]:
    """Return ``(token, key_id, secret_sha256)`` for a fresh token."""
    key_id = _random_b32(8, KEY_ID_LENGTH)
    secret = _random_b32(33, SECRET_LENGTH)
    return f"{PREFIX}{key_id}_{secret}", key_id, hash_secret(secret)


def parse_token(token: str) -> tuple[str, str] | None:
    """Split a token into ``(key_id, secret)``, or ``None`` if it is not one of ours."""
    match = _TOKEN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Compare in constant time, so response timing reveals nothing about the hash."""
    return hmac.compare_digest(hash_secret(secret), stored_sha256)
