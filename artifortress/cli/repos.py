"""``repo create`` and ``repo list``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from artifortress.cli.common import Subparsers, as_operator, prepare_database, session
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
    rcreate.set_defaults(run=cmd_repo_create)
    repo.add_parser("list", help="list repositories").set_defaults(run=cmd_repo_list)


def cmd_repo_create(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.plugin_manager import collect_formats, make_plugin_manager
    from artifortress.repos.services import create_repo

    formats = collect_formats(make_plugin_manager())

    def run(db: Session, caller: Caller) -> str:
        repo = create_repo(
            db,
            caller,
            formats,
            key=args.key,
            format=args.format,
            public=args.public,
            description=args.description,
        )
        return f"created {repo.format} repository {repo.key}"

    print(as_operator(settings, run))
    return 0


def cmd_repo_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from artifortress.repos.models import Repository

    prepare_database(settings)
    with session(settings) as db:
        for repo in db.scalars(select(Repository).order_by(Repository.key)):
            print(f"{repo.key}\t{repo.format}\t{'public' if repo.public else 'private'}")
    return 0
