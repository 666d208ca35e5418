"""``repo create`` and ``repo list``."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from artifortress.cli.common import Subparsers, as_operator, prepare_database, session
from artifortress.errors import ValidationFailed
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.auth.principal import Caller


class _InstalledFormatsHelp(argparse.HelpFormatter):
    """Ends the help of ``--format`` with the installed formats, looked up only for --help.

    Loading the plugins while building the parser would import them for every command,
    before ``serve`` prepares the metrics folder.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        if action.dest != "format" or text is None:
            return text
        from artifortress.plugin_manager import collect_formats, make_plugin_manager

        installed = sorted(collect_formats(make_plugin_manager())) or ["none installed"]
        return f"{text}: {', '.join(installed)}"


def register(sub: Subparsers) -> None:
    """Add ``repo create`` and ``repo list``."""
    repo = sub.add_parser("repo", help="repositories").add_subparsers(title="repo commands")
    rcreate = repo.add_parser(
        "create", help="create a repository", formatter_class=_InstalledFormatsHelp
    )
    rcreate.add_argument(
        "key",
        help="the repository's name in URLs: 1-64 lower-case letters, digits, '.', '_' or '-'",
    )
    rcreate.add_argument("--format", required=True, help="one of the installed formats")
    rcreate.add_argument("--public", action="store_true", help="anyone may read it without a token")
    rcreate.add_argument("--description", default="", help="a line saying what it holds")
    _kind_arguments(rcreate)
    rcreate.set_defaults(run=cmd_repo_create)
    repo.add_parser("list", help="list repositories").set_defaults(run=cmd_repo_list)


def _kind_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of remote and virtual repositories."""
    parser.add_argument(
        "--kind",
        choices=("hosted", "remote", "virtual"),
        default="hosted",
        help="hosted (uploads land here, the default), remote (a cache of --upstream) or "
        "virtual (the union of its --member repositories, in order)",
    )
    remote = parser.add_argument_group("remote repositories")
    remote.add_argument("--upstream", metavar="URL", help="the registry to fetch from")
    remote.add_argument("--upstream-user", metavar="USER", help="user name at the upstream")
    remote.add_argument(
        "--upstream-password-env",
        metavar="VAR",
        help="environment variable holding the upstream password (stored encrypted)",
    )
    remote.add_argument(
        "--metadata-ttl", metavar="DURATION", help="refresh metadata after this (10m, 1h, 30s)"
    )
    virtual = parser.add_argument_group("virtual repositories")
    virtual.add_argument(
        "--member", action="append", metavar="KEY", help="a member, in lookup order (repeat)"
    )
    virtual.add_argument(
        "--merge",
        action="append",
        metavar="PATTERN",
        help="package names (fnmatch) whose remote versions merge although a hosted member "
        "has the name (repeat)",
    )


def kind_fields(args: argparse.Namespace) -> dict[str, Any]:
    """What the options of the repository's kind ask for, as ``POST /v1/repos`` takes it."""
    upstream: dict[str, Any] = {}
    if args.upstream is not None:
        upstream["url"] = args.upstream
    if args.upstream_user is not None:
        upstream["username"] = args.upstream_user
    if args.upstream_password_env is not None:
        upstream["password"] = _password_from(args.upstream_password_env)
    fields: dict[str, Any] = {"upstream": upstream} if upstream else {}
    optional = {
        "metadata_ttl": args.metadata_ttl,
        "members": args.member,
        "merge_patterns": args.merge,
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    return fields


def _password_from(variable: str) -> str:
    password = os.environ.get(variable)
    if not password:
        raise ValidationFailed(
            f"--upstream-password-env: the environment variable {variable} is not set"
        )
    return password


def cmd_repo_create(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.plugin_manager import collect_formats, make_plugin_manager
    from artifortress.repos.services import create_repo

    formats = collect_formats(make_plugin_manager())
    fields = kind_fields(args)

    def run(db: Session, caller: Caller) -> str:
        repo = create_repo(
            db,
            caller,
            formats,
            key=args.key,
            format=args.format,
            public=args.public,
            description=args.description,
            kind=args.kind,
            **fields,
        )
        return f"created {repo.format} {repo.kind} repository {repo.key}"

    print(as_operator(settings, run))
    return 0


def cmd_repo_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from artifortress.repos.models import Repository

    prepare_database(settings)
    with session(settings) as db:
        for repo in db.scalars(select(Repository).order_by(Repository.key)):
            visibility = "public" if repo.public else "private"
            print(f"{repo.key}\t{repo.format}\t{repo.kind}\t{visibility}")
    return 0
