"""The read-only view of a personal access token handed to plugins."""

from __future__ import annotations

import dataclasses
import datetime as dt

from artifortress.auth.models import Token


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """A personal access token as its owner may see it (never the secret)."""

    id: str
    name: str
    read_only: bool
    repos: tuple[str, ...] | None
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool


def token_info(token: Token) -> TokenInfo:
    return TokenInfo(
        id=token.key_id,
        name=token.name,
        read_only=token.read_only,
        repos=tuple(token.repo_scopes) if token.repo_scopes is not None else None,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked=token.revoked_at is not None,
    )
