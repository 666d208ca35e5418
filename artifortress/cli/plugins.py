"""``plugins``, ``plugins check PATH``, ``plugins new NAME``: for operators and plugin authors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artifortress.cli.common import Subparsers, count
from artifortress.settings import Settings


def register(sub: Subparsers) -> None:
    """Add ``plugins`` and its ``check`` and ``new`` commands."""
    plugins = sub.add_parser("plugins", help="list installed format plugins")
    plugins.set_defaults(run=cmd_plugins)
    plugin_commands = plugins.add_subparsers(title="plugins commands")
    check = plugin_commands.add_parser(
        "check",
        help="check that a plugin's source imports only artifortress.plugin",
        description="Read every .py file under PATH (hidden folders and virtual environments "
        "aside) and name each import a plugin may not make: anything of artifortress but "
        "artifortress.plugin, and artifortress.testing outside tests. Nothing is imported. "
        "Exit status: 0 clean, 1 a forbidden import (or no Python file).",
    )
    check.add_argument("path", help="the plugin's source folder (or one file)")
    check.set_defaults(run=cmd_plugins_check)
    new_plugin = plugin_commands.add_parser(
        "new",
        help="write a working plugin project to start a format from",
        description="Write a plugin project for format NAME into a new folder: a "
        "distribution with the artifortress.plugins entry point, a plugin module with one "
        "route, and tests using the test kit. An existing folder is never overwritten. "
        "Next steps: docs/plugins.md, 'Writing a format plugin'.",
    )
    new_plugin.add_argument("name", help="the format name (lower-case letters and digits)")
    new_plugin.add_argument(
        "--dir", help="the project folder to create (default: ./artifortress-NAME)"
    )
    new_plugin.set_defaults(run=cmd_plugins_new)


def cmd_plugins(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.plugin_manager import collect_formats, describe_plugins, make_plugin_manager

    pm = make_plugin_manager()
    for name, version in describe_plugins(pm):
        print(f"{name}\t{version}")
    print("formats: " + (", ".join(sorted(collect_formats(pm))) or "none"))
    return 0


def cmd_plugins_check(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.imports_contract import PUBLIC_API, check_plugin

    found = check_plugin(Path(args.path))
    for problem in found.problems:
        print(problem)
    if found.problems:
        print(f"{count(len(found.problems), 'forbidden import')} in {args.path}", file=sys.stderr)
        return 1
    if not found.files:
        print(f"error: no Python file under {args.path}", file=sys.stderr)
        return 1
    print(f"OK: {args.path} imports only {PUBLIC_API} ({count(found.files, 'file')} read)")
    return 0


def cmd_plugins_new(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.scaffold import new_plugin, plugin_names

    target = Path(args.dir or plugin_names(args.name).distribution)
    for path in new_plugin(args.name, target):
        print(path)
    print(
        f"next: cd {target} && pip install -e '.[test]' && pytest && artifortress plugins check ."
    )
    return 0
