"""``gc``, ``blobs reap``, ``scrub``, ``worker``, ``reindex``, ``backup``: upkeep."""

from __future__ import annotations

import argparse

from artifortress.cli.common import Subparsers, os_user, prepare_database
from artifortress.settings import Settings

EXIT_DAMAGED = 3


def register(sub: Subparsers) -> None:
    """Add the maintenance commands."""
    gc = sub.add_parser("gc", help="collect blobs that no live artifact references")
    gc.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    gc.set_defaults(run=cmd_gc)

    blobs = sub.add_parser("blobs", help="blob store").add_subparsers(title="blobs commands")
    reap = blobs.add_parser("reap", help="expire overdue upload sessions, sweep leftovers")
    reap.set_defaults(run=cmd_blobs_reap)

    scrub = sub.add_parser(
        "scrub",
        help="re-hash stored blobs, reconcile the store with the database; "
        "exit 3 if a blob is corrupt or missing",
        description="Re-hash every stored blob and reconcile the blob store with the database. "
        "Corrupt objects are moved aside (quarantine/ in the store) so they are never served; "
        "rows without an object are reported missing; both heal when the same bytes are "
        "uploaded again. Exit status: 0 clean, 3 something corrupt or missing, 1 could not run.",
    )
    scrub.add_argument(
        "--dry-run", action="store_true", help="report only: move nothing aside, remove nothing"
    )
    scrub.add_argument(
        "--remove-orphans",
        action="store_true",
        help="remove objects no row names once older than ARTIFORTRESS_GC_GRACE",
    )
    scrub.add_argument("--json", action="store_true", help="print the report as JSON")
    scrub.set_defaults(run=cmd_scrub)

    worker = sub.add_parser("worker", help="consume the outbox (search index, webhooks, plugins)")
    worker.add_argument("--drain", action="store_true", help="exit once nothing is pending")
    worker.set_defaults(run=cmd_worker)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the database")
    reindex.add_argument("--recreate", action="store_true", help="drop and recreate it first")
    reindex.set_defaults(run=cmd_reindex)
    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database (online, consistent) and with --blobs the local blobs",
        description="Copy the embedded default while the server runs: the database with "
        "SQLite's backup API, then, with --blobs, the committed blob files. DEST is laid out "
        "as a home folder. On PostgreSQL use pg_dump instead (deploy/RUNBOOK.md, section 4).",
    )
    backup.add_argument("dest", help="a folder without a backup in it yet (made if missing)")
    backup.add_argument(
        "--blobs", action="store_true", help="also copy the local blob folder (after the database)"
    )
    backup.set_defaults(run=cmd_backup)


def cmd_gc(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.gc.command import run

    prepare_database(settings)
    report = run(settings, dry_run=args.dry_run, client_addr=f"cli:{os_user()}")
    print(report.summary())
    return 0


def cmd_blobs_reap(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.blobs.command import run_reap, summary

    prepare_database(settings)
    print(summary(run_reap(settings, client_addr=f"cli:{os_user()}")))
    return 0


def cmd_scrub(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from artifortress.blobs.command import run_scrub

    prepare_database(settings)
    report = run_scrub(
        settings,
        dry_run=args.dry_run,
        remove_orphans=args.remove_orphans,
        client_addr=f"cli:{os_user()}",
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for line in report.details():
            print(line)
        print(report.summary())
    return 0 if report.healthy else EXIT_DAMAGED


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.outbox.command import run

    prepare_database(settings)
    print(run(settings, drain=args.drain).summary(), flush=True)
    return 0


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.search.command import run

    prepare_database(settings)
    print(f"indexed {run(settings, recreate=args.recreate)} packages")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db.backup import run

    print(run(settings, args.dest, blobs=args.blobs).summary())
    return 0
