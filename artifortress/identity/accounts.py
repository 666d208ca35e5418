"""Who a validated ID token is: the linked user, provisioned just in time if allowed.

A person is found by the token's issuer and subject (``sub``), never by a name claim: IdPs
let people change their names, and a name claim that matched an account would let whoever
gets that name at the IdP sign in as someone else.  The username claim only names the user
created on first sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.models import User
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.users import check_user_name, find_user
from artifortress.db.base import utcnow
from artifortress.errors import PermissionDenied, ValidationFailed
from artifortress.identity.models import ExternalIdentity
from artifortress.identity.providers import OidcProvider, configured
from artifortress.rbac.groups import find_group
from artifortress.rbac.models import GroupMember

#: The longest issuer and subject kept (their columns' size; OIDC suggests subjects of 255).
MAX_CLAIM = 255


class SignInRefused(PermissionDenied):
    """The person is not let in (message says why); ``user`` names the account if known.

    The request's transaction rolls back: the caller audits the refusal in its own.
    """

    def __init__(self, message: str, user: str | None = None):
        super().__init__(message)
        self.user = user


def user_for_claims(
    db: Session, caller: Caller, provider: OidcProvider, claims: Mapping[str, Any]
) -> User:
    """The live, enabled user the ID token's person is; audited (sign-in, provisioning)."""
    _check_lengths(claims)
    link = _link_of(db, caller.principal.tenant_id, claims)
    if link is None:
        user = _provision(db, caller, provider, claims)
    else:
        user = db.get_one(User, link.user_id)
        link.last_sign_in_at = utcnow()
    as_user = _caller_as(caller, user)
    if user.deleted_at is not None or user.disabled_at is not None:
        state = "deleted" if user.deleted_at is not None else "disabled"
        raise SignInRefused(
            f"the account {user.name!r} is {state}; ask an administrator", user.name
        )
    _sync_groups(db, as_user, provider, claims, user)
    changes.of(db).audit(as_user, "oidc.sign_in", target=user.name, provider=provider.name)
    return user


def link_identity(
    db: Session, caller: Caller, provider: OidcProvider, claims: Mapping[str, Any]
) -> None:
    """Link the ID token's person to the signed-in caller's user (audited ``oidc.link``).

    How an account that existed before (created by an administrator) gets its IdP sign-in:
    its owner proves both, the account by their session and the identity at the IdP.
    """
    _check_lengths(claims)
    link = _link_of(db, caller.principal.tenant_id, claims)
    if link is not None and link.user_id != caller.principal.user_id:
        raise SignInRefused("this identity is already linked to another account")
    if link is None:
        assert caller.principal.user_id is not None
        db.add(
            ExternalIdentity(
                tenant_id=caller.principal.tenant_id,
                issuer=claims["iss"],
                subject=claims["sub"],
                user_id=caller.principal.user_id,
                provider=provider.name,
            )
        )
    changes.of(db).audit(
        caller,
        "oidc.link",
        target=caller.principal.name,
        provider=provider.name,
        issuer=claims["iss"],
        subject=claims["sub"],
    )


def _check_lengths(claims: Mapping[str, Any]) -> None:
    if len(claims["iss"]) > MAX_CLAIM or len(str(claims["sub"])) > MAX_CLAIM:
        raise SignInRefused(f"the ID token's issuer or subject is over {MAX_CLAIM} characters")


def _link_of(db: Session, tenant_id: int, claims: Mapping[str, Any]) -> ExternalIdentity | None:
    return db.scalars(
        select(ExternalIdentity).where(
            ExternalIdentity.tenant_id == tenant_id,
            ExternalIdentity.issuer == claims["iss"],
            ExternalIdentity.subject == claims["sub"],
        )
    ).one_or_none()


def _provision(
    db: Session, caller: Caller, provider: OidcProvider, claims: Mapping[str, Any]
) -> User:
    """First sign-in of this person: create their user (JIT) and link it, or refuse."""
    if not provider.jit:
        raise SignInRefused(
            "no account is linked to this identity and this provider does not create accounts: "
            "sign in with a token and link this provider on your account page"
        )
    name = claims.get(provider.username_claim)
    if not isinstance(name, str):
        raise SignInRefused(f"the ID token has no {provider.username_claim!r} claim to name you")
    try:
        check_user_name(name)
    except ValidationFailed as invalid:
        raise SignInRefused(invalid.message) from None
    if find_user(db, caller.principal.tenant_id, name) is not None:
        # Taken (or once taken) by someone else: linking it would hand them that account.
        raise SignInRefused(
            f"an account named {name!r} exists and is not linked to this identity: its owner "
            "signs in with a token and links this provider on their account page",
            name,
        )
    user = User(tenant_id=caller.principal.tenant_id, name=name, is_admin=False)
    db.add(user)
    db.flush()
    db.add(
        ExternalIdentity(
            tenant_id=user.tenant_id,
            issuer=claims["iss"],
            subject=claims["sub"],
            user_id=user.id,
            provider=provider.name,
        )
    )
    changes.of(db).audit(
        _caller_as(caller, user),
        "oidc.provision",
        target=name,
        provider=provider.name,
        issuer=claims["iss"],
        subject=claims["sub"],
    )
    return user


def _sync_groups(
    db: Session,
    caller: Caller,
    provider: OidcProvider,
    claims: Mapping[str, Any],
    user: User,
) -> None:
    """Membership of the mapped groups follows the IdP's: added, and removed when gone."""
    if not provider.groups_claim or not provider.group_mapping:
        return
    raw = claims.get(provider.groups_claim, [])
    idp_groups = {g for g in raw if isinstance(g, str)} if isinstance(raw, list) else set()
    wanted = {local for idp, local in provider.group_mapping.items() if idp in idp_groups}
    added, removed = [], []
    for local in sorted(set(provider.group_mapping.values())):
        group = find_group(db, user.tenant_id, local)
        if group is None:
            continue  # mapped to a group nobody created (yet): nothing to grant
        member = db.get(GroupMember, (group.id, user.id))
        if local in wanted and member is None:
            db.add(GroupMember(group_id=group.id, user_id=user.id))
            added.append(local)
        elif local not in wanted and member is not None:
            db.delete(member)
            removed.append(local)
    if added or removed:
        changes.of(db).audit(caller, "oidc.groups", target=user.name, added=added, removed=removed)


def _caller_as(caller: Caller, user: User) -> Caller:
    """The signing-in person as the actor of their own sign-in's audit rows."""
    principal = Principal(
        tenant_id=user.tenant_id, user_id=user.id, name=user.name, is_admin=user.is_admin
    )
    return Caller(principal, caller.request_id, caller.client_addr)


def linked_providers(db: Session, user_id: int, raw_providers: str) -> list[tuple[str, str, bool]]:
    """(name, label, linked to *user_id*) of each configured provider, for the account page."""
    linked = set(
        db.scalars(select(ExternalIdentity.provider).where(ExternalIdentity.user_id == user_id))
    )
    return [(p.name, p.display_name, p.name in linked) for p in configured(raw_providers)]
