"""``serve``, ``db upgrade|current`` and ``settings``: running and migrating an installation."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from artifortress.cli.common import (
    Subparsers,
    cli_prefix,
    guarded,
    home_is_default,
    prepare_database,
    require_existing_database,
    safe_url,
    session,
)
from artifortress.settings import Settings

_SERVE_DESCRIPTION = (
    "Run the API under gunicorn on ARTIFORTRESS_BIND (default 127.0.0.1:8080), with "
    "ARTIFORTRESS_WORKERS processes of ARTIFORTRESS_THREADS threads each. The embedded default "
    "keeps its database and blobs under ARTIFORTRESS_HOME (./var) and migrates itself; with "
    "ARTIFORTRESS_DATABASE_URL set, run 'artifortress db upgrade' first. Every ARTIFORTRESS_* "
    "environment variable applies (or the same key in the --config file): 'artifortress "
    "settings' lists them all with their defaults and current values."
)


def register(sub: Subparsers) -> None:
    """Add ``serve``, ``db`` and ``settings``."""
    serve = sub.add_parser(
        "serve", help="run the API under gunicorn", description=_SERVE_DESCRIPTION
    )
    serve.set_defaults(run=cmd_serve, creates_home=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="apply migrations").set_defaults(
        run=cmd_db_upgrade, creates_home=True
    )
    db.add_parser("current", help="show the schema revision").set_defaults(run=cmd_db_current)

    sub.add_parser(
        "settings", help="list every ARTIFORTRESS_* setting with its default and current value"
    ).set_defaults(run=cmd_settings)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    # server.serve sets the metrics folder up before anything imports prometheus_client.
    from artifortress.server import serve

    def prepare() -> int:
        prepare_database(settings, create=True)
        _print_first_start_hint(settings)
        return 0

    def before_start() -> None:
        status = _in_child_process(lambda: guarded(settings, prepare))
        if status != 0:
            raise SystemExit(status)

    serve(settings, before_start, on_ready=lambda: _print_banner(settings))
    return 0


def _print_banner(settings: Settings) -> None:
    """Once the address is bound: where it serves, and what a second terminal needs."""
    from artifortress.serving.arbiter import runs_embedded_worker

    if runs_embedded_worker(settings):
        events = "with its event worker"
    else:
        events = "no event worker: run `artifortress worker` for search and webhooks"
    print(
        f"Artifortress serving on http://{settings.bind}/ "
        f"(database {safe_url(settings)}; {events})",
        flush=True,
    )
    if not settings.is_embedded:
        print("Other artifortress commands need the same ARTIFORTRESS_* settings.", flush=True)
        return
    where = f"from {Path.cwd()}" if home_is_default(settings) else "anywhere"
    print(
        f"Run other artifortress commands {where} as\n  {cli_prefix(settings)} COMMAND ...",
        flush=True,
    )


def _in_child_process(work: Callable[[], int]) -> int:
    """Run *work* in a forked child and return its exit status.

    gunicorn's master forks every worker, so whatever the master imports or
    allocates is resident in each of them.  Migrating the schema needs
    alembic (about 10 MiB) and leaves garbage behind, which no worker needs:
    a child does that work and takes its memory with it when it exits.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never return into the caller's stack
        status = 1
        try:
            status = work()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


def _print_first_start_hint(settings: Settings) -> None:
    from sqlalchemy import select

    from artifortress.auth.models import User

    with session(settings) as db:
        has_admin = db.scalars(select(User.id).where(User.is_admin.is_(True)).limit(1)).first()
    if has_admin is None:
        print(
            "\nNo administrator yet. Create one with:\n"
            f"  {cli_prefix(settings)} admin create-token --user admin --admin\n"
            "and use the printed token as 'Authorization: Bearer TOKEN', or sign in with it\n"
            f"in a browser at http://{settings.bind}/ui/\n",
            flush=True,
        )


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")
    engine.dispose()
    return 0


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    require_existing_database(settings)
    engine = make_engine(settings.database_url)
    current = migrate.current_revision(engine)
    print(f"current: {current or 'none'}; head: {migrate.head_revision()}")
    engine.dispose()
    return 0 if current == migrate.head_revision() else 1


def cmd_settings(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.settings import current, describe

    values = dict(current(settings))
    for variable, default, meaning in describe():
        print(f"{variable}={values[variable]}\n    {meaning} (default: {default or 'unset'})")
    return 0
