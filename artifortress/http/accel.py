"""Handing response bodies to a front proxy after authorization (``X-Accel-Redirect``).

With ``ARTIFORTRESS_ACCEL_REDIRECT=/_accel/`` the application still decides
every request (authentication, permission, the change counter, 304s), but a
full-body GET of a stored page or of a blob in the local store is answered
with an empty body and ``X-Accel-Redirect: /_accel/renderings/<file>`` or
``/_accel/blobs/<content address>``; nginx (or Caddy's ``handle_response``)
then sends the file from disk.  See deploy/nginx.conf for the matching
``internal`` locations.

Blobs are already files.  Pages live in the database and the caches, so they
are written, once per content, into a node-local folder the proxy can read:
named by their ETag and change time, never rewritten in place (a response in
flight keeps the bytes it was promised), with the file's mtime set to the
page's Last-Modified.  The
folder is a cache: losing it costs rewrites, nothing else.  Files unused for
``retention`` seconds are pruned by the process that writes new ones.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from artifortress.blobs.digests import fan_out
from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.store import BlobStore
from artifortress.renderings.store import Rendered
from artifortress.settings import Settings

log = logging.getLogger("artifortress.accel")

#: A rendering's ETag is hex between quotes; anything else never names a file.
_ETAG = re.compile(r'^"([0-9a-f-]{8,80})"$')
#: What this module writes into the folder; pruning touches nothing else.
_OURS = re.compile(r"^(?:[0-9a-f-]{8,80}-\d+|\.tmp-.*)$")
#: How often one process prunes the folder (only when it writes a new file).
PRUNE_EVERY = 600.0
#: The proxy reads pages as a member of Artifortress's group (they may be private).
PAGE_FILE_MODE = 0o640
FOLDER_MODE = 0o750


class AccelRedirect:
    """Paths under the front proxy's internal prefix for blobs and stored pages."""

    def __init__(
        self, prefix: str, blob_root: Path | None, folder: Path, retention: float = 86400.0
    ) -> None:
        self.prefix = prefix
        self._blob_root = blob_root
        self._folder = folder
        self._retention = retention
        self._last_prune = 0.0
        self._prune_lock = threading.Lock()
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)

    def blob(self, digest: str) -> str | None:
        """The internal URI of a blob, when blobs are files the proxy can read."""
        if self._blob_root is None:
            return None
        return f"{self.prefix}blobs/{fan_out(digest)}"

    def rendering(self, doc: Rendered) -> str | None:
        """The internal URI of *doc*'s bytes, written to the folder first if missing.

        ``None`` when it cannot be written (disk full, read-only): the caller
        then sends the body itself, so the proxy only ever speeds things up.
        """
        match = _ETAG.match(doc.etag)
        if match is None:
            return None
        name = f"{match.group(1)}-{int(doc.last_modified.timestamp() * 1_000_000)}"
        try:
            self._ensure(name, doc)
        except OSError as exc:
            log.warning("cannot write %s for the front proxy (%s); sending it directly", name, exc)
            return None
        return f"{self.prefix}renderings/{name}"

    def _ensure(self, name: str, doc: Rendered) -> None:
        """The file exists with the right size: one stat per request (a microsecond)."""
        path = self._folder / name
        try:
            status = path.stat()
        except FileNotFoundError:
            self._write(path, doc)
            self._maybe_prune(time.monotonic())
            return
        if status.st_size != len(doc.body):
            self._write(path, doc)  # not what its name promises: a write cut short by a crash
            return
        if time.time() - status.st_ctime > self._retention / 2:
            # Still in use: renew its change time so pruning keeps it.  The mtime
            # is the page's Last-Modified and must stay as it is.
            os.chmod(path, PAGE_FILE_MODE)

    def _write(self, path: Path, doc: Rendered) -> None:
        fd, temp = tempfile.mkstemp(dir=self._folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(doc.body)
                out.flush()
                os.fsync(out.fileno())  # a crash must not leave a short file under the name
            os.chmod(temp, PAGE_FILE_MODE)  # mkstemp makes 0600; the proxy must read it
            stamp = doc.last_modified.timestamp()
            os.utime(temp, (stamp, stamp))
            os.replace(temp, path)  # same bytes if another process raced us
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _maybe_prune(self, now: float) -> None:
        if now - self._last_prune < PRUNE_EVERY or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._last_prune = now
            removed = prune(self._folder, self._retention)
            if removed:
                log.info("pruned %d unused page files from %s", removed, self._folder)
        finally:
            self._prune_lock.release()


def prune(folder: Path, retention: float) -> int:
    """Remove files of *folder* whose change time is older than *retention* seconds."""
    cutoff = time.time() - retention
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if not _OURS.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue  # a folder set to the wrong place loses nothing of its own
            try:
                if entry.stat(follow_symlinks=False).st_ctime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # another process pruned it first
    return removed


def make_accel(settings: Settings, store: BlobStore) -> AccelRedirect | None:
    """The hand-off when ``ARTIFORTRESS_ACCEL_REDIRECT`` is set (blobs only from a local store)."""
    if not settings.accel_redirect:
        return None
    blob_root = store.root if isinstance(store, LocalBlobStore) else None
    folder = (
        Path(settings.renderings_dir) if settings.renderings_dir else settings.home / "renderings"
    )
    return AccelRedirect(settings.accel_redirect, blob_root, folder)
