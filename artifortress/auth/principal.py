"""Who is calling: the principal resolved from the request's credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated user acting through one token, or the anonymous caller."""

    tenant_id: int
    user_id: int | None = None
    name: str = "anonymous"
    is_admin: bool = False
    token_key_id: str | None = None
    read_only: bool = False
    #: Repository keys the token may touch; ``None`` means all of the tenant's.
    repo_scopes: frozenset[str] | None = None
    #: The trusted publisher a minted CI token acts for: at least ``issuer``, ``repository``,
    #: ``workflow`` and ``environment`` when known. ``None`` for people's tokens.
    publisher: Mapping[str, str] | None = dataclasses.field(default=None, hash=False)
    #: Unix time the credential stops working when it is a scoped token (``afst_``), which a
    #: token derived from it never outlives; ``None``: as long as its token row says. Not
    #: compared: what a principal may do does not depend on it (rbac.GrantCache keys on it).
    credential_expires: int | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def operator(cls, tenant_id: int) -> Principal:
        """The operator running the CLI on the server (audited as ``cli``)."""
        return cls(tenant_id=tenant_id, name="cli", is_admin=True)

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def is_tenant_admin(self) -> bool:
        """A tenant admin acting through an unrestricted token."""
        return self.is_admin and not self.read_only and self.repo_scopes is None

    def may_touch(self, repo_key: str) -> bool:
        """False when the token's repository scope excludes *repo_key*."""
        return self.repo_scopes is None or repo_key in self.repo_scopes


@dataclasses.dataclass(frozen=True)
class Caller:
    """The principal plus the request facts that every audit row records."""

    principal: Principal
    request_id: str | None = None
    client_addr: str | None = None
