"""``admin`` (tokens and users) and ``group``: what an operator does as the operator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from artifortress.cli.common import Subparsers, as_operator
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.auth.principal import Caller


def register(sub: Subparsers) -> None:
    """Add ``admin`` and ``group``."""
    admin = sub.add_parser("admin", help="operator commands").add_subparsers(title="admin commands")
    create = admin.add_parser("create-token", help="create a user if missing and print a token")
    create.add_argument("--user", required=True, help="user name (created if missing)")
    create.add_argument("--admin", action="store_true", help="make the user a tenant admin")
    create.add_argument(
        "--ttl-days",
        type=int,
        default=None,
        help="lifetime in days (default: ARTIFORTRESS_TOKEN_DEFAULT_TTL_DAYS, 90; "
        "at most ARTIFORTRESS_TOKEN_MAX_TTL_DAYS, 365)",
    )
    create.add_argument(
        "--name",
        default="created by artifortress admin create-token",
        help="a label to recognize the token by in listings",
    )
    create.add_argument(
        "--read-only", action="store_true", help="the token may read but never change anything"
    )
    create.add_argument(
        "--repo",
        action="append",
        dest="repos",
        help="limit the token to this repository (repeatable)",
    )
    create.set_defaults(run=cmd_create_token)
    revoke = admin.add_parser("revoke-token", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the token's id, as list-tokens shows it")
    revoke.set_defaults(run=cmd_revoke_token)
    tokens = admin.add_parser("list-tokens", help="list a user's tokens")
    tokens.add_argument("--user", required=True, help="user name")
    tokens.set_defaults(run=cmd_list_tokens)
    for verb, doc in (
        ("disable", "stop every token of a user (within a second), keep everything else"),
        ("enable", "let a disabled user's live tokens work again"),
        ("delete", "revoke a user's tokens, drop their bindings; the name stays reserved"),
    ):
        user_command = admin.add_parser(f"{verb}-user", help=doc)
        user_command.add_argument("user")
        user_command.set_defaults(run=_rbac_command(f"{verb}_user"))

    group = sub.add_parser("group", help="groups of users").add_subparsers(title="group commands")
    for verb, function, doc, positionals in (
        ("create", "create_group", "create a group", ("group",)),
        ("delete", "delete_group", "delete a group, its memberships and bindings", ("group",)),
        ("list", "list_groups", "list groups and their members", ()),
        ("add-member", "add_member", "add a user to a group", ("group", "user")),
        ("remove-member", "remove_member", "remove a user from a group", ("group", "user")),
        ("bind", "bind_group", "set a group's roles on a repository", ("repo", "group")),
    ):
        group_command = group.add_parser(verb, help=doc)
        for positional in positionals:
            group_command.add_argument(positional)
        group_command.set_defaults(run=_rbac_command(function))
        if verb == "bind":
            group_command.add_argument(
                "--role", action="append", dest="roles", help="repeatable; none removes the binding"
            )


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import TokenPolicy, issue_token
    from artifortress.auth.users import ensure_user

    def run(db: Session, caller: Caller) -> str:
        user = ensure_user(db, caller.principal.tenant_id, args.user, is_admin=args.admin)
        policy = TokenPolicy(settings.token_default_ttl_days, settings.token_max_ttl_days)
        token, secret = issue_token(
            db,
            caller,
            user,
            policy,
            name=args.name,
            ttl_days=args.ttl_days,
            read_only=args.read_only,
            repo_scopes=args.repos,
        )
        print(
            f"token {token.key_id} for {user.name}{' (admin)' if user.is_admin else ''}, "
            f"expires {token.expires_at:%Y-%m-%d}",
            file=sys.stderr,
        )
        return secret

    print(as_operator(settings, run))
    return 0


def cmd_revoke_token(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import revoke_token

    def run(db: Session, caller: Caller) -> str:
        return revoke_token(db, caller, args.token_id).key_id

    print(f"revoked {as_operator(settings, run)}")
    return 0


def cmd_list_tokens(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import list_tokens, token_to_json
    from artifortress.auth.users import get_user

    def run(db: Session, caller: Caller) -> list[str]:
        user = get_user(db, caller.principal.tenant_id, args.user)
        return [
            "{id}\t{name}\texpires {expires_at}\trevoked {revoked_at}".format(**token_to_json(t))
            for t in list_tokens(db, user.id)
        ]

    print("\n".join(as_operator(settings, run)) or "no tokens")
    return 0


def _rbac_command(name: str) -> Callable[[Settings, argparse.Namespace], int]:
    """Run ``artifortress.rbac.command.<name>`` as the operator and print its line."""

    def command(settings: Settings, args: argparse.Namespace) -> int:
        from artifortress.rbac import command as rbac_command

        action = getattr(rbac_command, name)
        print(as_operator(settings, lambda db, caller: action(db, caller, args)))
        return 0

    return command
