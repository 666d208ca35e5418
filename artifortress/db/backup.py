"""``artifortress backup DEST``: an online copy of the embedded default (SQLite, local blobs).

The database is copied with SQLite's backup API in one step, that is inside
one read transaction: under WAL the server goes on reading and writing, and
the copy is the database as of one commit.  The blobs (``--blobs``) are
copied after it, for the reason the runbook gives for PostgreSQL and S3: a
blob row is committed only after its bytes are stored, and stored bytes never
change, so every blob the copied database references is already on disk.

DEST is laid out as a home folder (``artifortress.db``, ``secret.key`` if the
home has one, ``blobs/sha256/...``):
``ARTIFORTRESS_HOME=DEST artifortress serve`` serves the backup as it is.
PostgreSQL is backed up with ``pg_dump`` and S3 by mirroring the bucket.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from artifortress.errors import ArtifortressError
from artifortress.secretbox import KEY_FILE
from artifortress.settings import Settings

DATABASE_FILE = "artifortress.db"
#: Committed blobs only: ``uploads/`` and ``tmp/`` are scratch space of live uploads.
BLOBS_FOLDER = "sha256"


class BackupRefused(ArtifortressError):
    """The backup cannot be made here, for a reason the operator can fix."""

    code = "backup_refused"
    status = 400


@dataclass
class BackupReport:
    database: Path
    database_bytes: int
    blobs_copied: int = 0
    blobs_present: int = 0
    blob_bytes: int = 0
    #: Files that vanished between listing and copying (GC running during the backup).
    blobs_vanished: int = 0

    def summary(self) -> str:
        lines = [f"database: {self.database} ({self.database_bytes} bytes, integrity ok)"]
        if self.blobs_copied or self.blobs_present or self.blobs_vanished:
            lines.append(
                f"blobs: {self.blobs_copied} copied ({self.blob_bytes} bytes), "
                f"{self.blobs_present} already in the backup, "
                f"{self.blobs_vanished} deleted by GC meanwhile"
            )
        return "\n".join(lines)


def run(settings: Settings, dest: str | Path, *, blobs: bool) -> BackupReport:
    """Copy the database into *dest*, then (with *blobs*) the committed blobs."""
    dest = Path(dest)
    source = sqlite_path(settings)
    blob_root = local_blob_root(settings) if blobs else None
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / DATABASE_FILE
    if target.exists():
        raise BackupRefused(f"{target} exists: back up into a new folder, never over a backup")
    copy_database(source, target)
    copy_secret(settings, dest)
    report = BackupReport(database=target, database_bytes=target.stat().st_size)
    if blob_root is not None:
        copy_blobs(blob_root / BLOBS_FOLDER, dest / "blobs" / BLOBS_FOLDER, report)
    return report


def copy_secret(settings: Settings, dest: Path) -> None:
    """The generated secret of stored passwords goes along (unless the setting holds it)."""
    secret = settings.home / KEY_FILE
    if not settings.secret_key and secret.exists():
        shutil.copy2(secret, dest / KEY_FILE)  # keeps its mode, 0600


def sqlite_path(settings: Settings) -> Path:
    """The database file of the embedded default; PostgreSQL is refused, naming pg_dump."""
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupRefused(
            "the database is PostgreSQL: back it up with pg_dump "
            "(deploy/RUNBOOK.md, section 4); `artifortress backup` copies the SQLite default"
        )
    if not url.database or url.database == ":memory:":
        raise BackupRefused("the SQLite database is in memory: there is nothing to back up")
    path = Path(url.database)
    if not path.is_file():
        raise BackupRefused(
            f"no database at {path}: set ARTIFORTRESS_HOME (or --config) as the server has it"
        )
    return path


def local_blob_root(settings: Settings) -> Path:
    """The local blob folder; an S3 bucket is refused, naming the way to copy it."""
    if not settings.blob_url.startswith("file://"):
        raise BackupRefused(
            "the blobs are in S3: mirror the bucket (deploy/RUNBOOK.md, section 4); "
            "run without --blobs to copy the database alone"
        )
    return Path(settings.blob_url.removeprefix("file://"))


def copy_database(source: Path, target: Path) -> None:
    """An online, consistent copy of *source*, checked before it takes its final name."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # timeout: a writer holding the lock for a moment is waited for, not an error.
    reader = sqlite3.connect(source, timeout=30)
    try:
        writer = sqlite3.connect(partial)
        try:
            reader.backup(writer)  # every page at once: one read transaction
        finally:
            writer.close()
    finally:
        reader.close()
    verdict = integrity(partial)
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupRefused(f"the copy of {source} failed its integrity check: {verdict}")
    os.replace(partial, target)


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of a database file: ``ok`` or the problems found."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    return "; ".join(str(row[0]) for row in rows)


def copy_blobs(source: Path, target: Path, report: BackupReport) -> None:
    """Copy every committed blob missing from *target* (a blob never changes once stored)."""
    if not source.is_dir():
        return
    for folder, _subfolders, files in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            _copy_blob(Path(folder, name), into / name, report)


def _copy_blob(source: Path, target: Path, report: BackupReport) -> None:
    try:
        size = source.stat().st_size
        if target.exists() and target.stat().st_size == size:
            report.blobs_present += 1
            return
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
    except FileNotFoundError:
        report.blobs_vanished += 1
        return
    os.replace(partial, target)
    report.blobs_copied += 1
    report.blob_bytes += size
