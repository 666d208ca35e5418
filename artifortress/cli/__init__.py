"""The ``artifortress`` command line: serve, migrate, administer.

One module per group of commands, each adding its own to the parser
(``register``). Heavy modules are imported inside each command, so ``serve``
can prepare the metrics folder before prometheus_client is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from artifortress.cli import admin, login, maintenance, plugins, remote, repos, server
from artifortress.cli.common import guarded
from artifortress.errors import ConfigurationError
from artifortress.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 2 for a configuration problem, 1 for any other refusal."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    if args.config:
        os.environ["ARTIFORTRESS_CONFIG"] = args.config  # workers re-read it
    try:
        settings = Settings.load()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_embedded and getattr(args, "creates_home", False):
        # SQLite cannot create the file of a missing folder; only serve and db upgrade
        # (set_defaults(creates_home=True)) may make one.
        settings.home.mkdir(parents=True, exist_ok=True)
    return guarded(settings, lambda: int(args.run(settings, args)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifortress",
        description="The artifortress command line: serve, migrate, administer.",
    )
    parser.add_argument("--config", help="TOML file with settings (environment wins)")
    sub = parser.add_subparsers(title="commands")

    for module in (server, plugins, admin, repos, remote, maintenance, login):
        module.register(sub)
    return parser
