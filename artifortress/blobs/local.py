"""The local-folder blob store (``file://PATH``).

Layout under the root::

    sha256/ab/cd/<hex>        committed blobs, content-addressed, never partial
    quarantine/<hex>.<time>   blobs that ``artifortress scrub`` found corrupt, moved aside
    uploads/<session>/part-NNNNN   received parts of open upload sessions
    tmp/                      files being written; renamed into place once verified

Writes go to a temporary file on the same file system, are fsynced and then
renamed (or hard-linked) into place, so a crash can leave junk in ``tmp/``
but never a partial file at a blob's address. The writer holds each
temporary file locked until it is in place, so a dead writer's junk is
reclaimed at once (``reclaim``: at worker start and by the reaper) and a
live upload's never (``blobs/heldfiles.py``).  Parts
are not fsynced: they are scratch space, and completion hashes every byte
again before anything becomes durable (a single-part session reuses the
digest recorded on the part's inode while it was received).  A blob sent in
one request goes to disk past the page cache (``blobs/direct.py``); parts go
through the cache, which a multi-part completion reads back, and are written
out while they arrive; either way the final fsync finds little left to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import io
import os
import re
import shutil
from collections.abc import Container, Iterable, Iterator, Sequence
from pathlib import Path

from artifortress.blobs.digests import Hasher, fan_out
from artifortress.blobs.files import FileRange, Writeback, fsync_dir, make_dirs, unlink_quietly
from artifortress.blobs.heldfiles import SUFFIX, create_held, reclaim_dead
from artifortress.blobs.pipeline import hash_and_write, hash_only
from artifortress.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobStoreUnavailable,
    Expectation,
    InvalidParts,
    PartInfo,
    StoredObject,
    UploadBusy,
    UploadNotFound,
    describe_error,
)

_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_PART = re.compile(r"^part-(\d{5})$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
#: Extended attribute holding "<size> <digest>" of a part, computed while it was received.
_XATTR = "user.artifortress.sha256"
#: Reading parts back for verification: bigger reads, fewer syscalls.
_ASSEMBLY_CHUNK = 4 * CHUNK_SIZE


#: Owner and group may read a stored blob; nobody may change it.
BLOB_FILE_MODE = 0o440


class LocalBlobStore:
    """Blobs as files under one root folder."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._uploads = root / "uploads"
        self._tmp = root / "tmp"

    # -- helpers -----------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        """Turn file-system failures (disk full, I/O error, permissions) into 503s."""
        try:
            yield
        except OSError as exc:
            raise BlobStoreUnavailable(
                self.kind, f"{doing} failed ({describe_error(exc)})"
            ) from exc

    def _ensure_dirs(self) -> None:
        for path in (self.root / "sha256", self._uploads, self._tmp):
            make_dirs(path)

    def _blob_path(self, digest: str) -> Path:
        return self.root / fan_out(digest)

    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):  # match() lets a trailing newline through
            raise UploadNotFound(f"no upload session {upload_id!r}")
        return self._uploads / upload_id

    def _temp(self, directory: Path, prefix: str) -> tuple[int, str]:
        """A temporary file held by this process until closed (see ``heldfiles``)."""
        return create_held(directory, prefix)

    def _place(self, source: str, digest: str) -> None:
        """Move a verified, fsynced file to its content address (atomic rename)."""
        target = self._blob_path(digest)
        make_dirs(target.parent)
        if target.exists():
            unlink_quietly(source)  # identical bytes are already there
            return
        # Readable by the group too, so a front proxy in Artifortress's group can send
        # it (ARTIFORTRESS_ACCEL_REDIRECT); mkstemp created it for the owner only.
        os.chmod(source, BLOB_FILE_MODE)
        os.rename(source, target)
        fsync_dir(target.parent)

    # -- the BlobStore protocol --------------------------------------------------

    def check(self) -> None:
        with self._translate(f"writing under {self.root}"):
            self._ensure_dirs()
            fd, path = self._temp(self._tmp, "probe-")
            os.close(fd)
            os.unlink(path)

    def size_of(self, digest: str) -> int | None:
        with self._translate("reading a blob's size"):
            try:
                return self._blob_path(digest).stat().st_size
            except FileNotFoundError:
                return None

    def open(self, digest: str, start: int = 0, length: int | None = None) -> FileRange:
        with self._translate("opening a blob"):
            try:
                file = open(self._blob_path(digest), "rb")  # noqa: SIM115 (the response closes it)
            except FileNotFoundError:
                raise BlobNotFound(f"blob {digest} is not in the store") from None
            size = os.fstat(file.fileno()).st_size
            file.seek(start)
            return FileRange(file, size - start if length is None else length)

    def presigned_url(self, digest: str, ttl_seconds: int) -> str | None:
        return None

    def write(self, chunks: Iterable[bytes], expected: Expectation) -> BlobInfo:
        with self._translate("writing a blob"):
            if expected.digest is not None and self._blob_path(expected.digest).exists():
                return _verify_again(chunks, expected)
            self._ensure_dirs()
            fd, path = self._temp(self._tmp, "blob-")
            try:
                info = _receive(fd, chunks, direct=True)
                expected.verify(info)
                os.fsync(fd)
                self._place(path, info.digest)  # still held: no sweep can take it first
                return info
            finally:
                os.close(fd)
                unlink_quietly(path)

    def begin_upload(self, upload_id: str) -> str:
        with self._translate("starting an upload"):
            self._ensure_dirs()
            self._upload_dir(upload_id).mkdir()
            return upload_id

    def write_part(
        self, upload_id: str, handle: str, number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        directory = self._upload_dir(upload_id)
        with self._translate("writing a part"):
            try:
                fd, path = self._temp(directory, f".part-{number:05d}-")
            except FileNotFoundError:
                raise UploadNotFound(f"no upload session {upload_id!r}") from None
            try:
                # Through the page cache: a multi-part completion reads the parts back.
                info = _receive(fd, chunks, direct=False)
                _record_digest(fd, info)
                # Shared lock: parts may arrive in parallel, but never swap under a completion.
                with _session_lock(directory, upload_id, shared=True):
                    os.rename(path, directory / f"part-{number:05d}")
                return PartInfo(number, info.size)
            except FileNotFoundError:
                raise UploadNotFound(f"upload session {upload_id!r} is gone") from None
            finally:
                os.close(fd)
                unlink_quietly(path)

    def parts(self, upload_id: str, handle: str) -> list[PartInfo]:
        directory = self._upload_dir(upload_id)
        with self._translate("listing parts"):
            try:
                names = os.listdir(directory)
            except FileNotFoundError:
                raise UploadNotFound(f"upload session {upload_id!r} is gone") from None
            found = []
            for name in names:
                match = _PART.match(name)
                if match:
                    with contextlib.suppress(FileNotFoundError):
                        size = (directory / name).stat().st_size
                        found.append(PartInfo(int(match.group(1)), size))
            return sorted(found, key=lambda p: p.number)

    def complete_upload(
        self, upload_id: str, handle: str, parts: Sequence[PartInfo], expected: Expectation
    ) -> BlobInfo:
        directory = self._upload_dir(upload_id)
        with (
            self._translate("completing an upload"),
            _session_lock(directory, upload_id, shared=False),
        ):
            files = _open_parts(directory, parts)
            try:
                if len(files) == 1 and self._adopt_part(directory, files[0], parts[0], expected):
                    return BlobInfo(str(expected.digest), parts[0].size)
                return self._assemble(files, expected)
            finally:
                for file in files:
                    file.close()

    def _adopt_part(
        self, directory: Path, file: io.FileIO, part: PartInfo, expected: Expectation
    ) -> bool:
        """Hard-link a single part whose recorded digest matches: no second pass over it."""
        recorded = _recorded_digest(file.fileno())
        if recorded is None or expected.digest is None:
            return False
        expected.verify(recorded)
        # mkstemp made the part 0600; as a blob it is group-readable like every other.
        os.fchmod(file.fileno(), BLOB_FILE_MODE)
        os.fsync(file.fileno())
        target = self._blob_path(recorded.digest)
        make_dirs(target.parent)
        try:
            os.link(directory / f"part-{part.number:05d}", target)
        except FileExistsError:
            return True
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EMLINK, errno.EXDEV, errno.ENOTSUP):
                return False  # no hard links here: copy instead
            raise
        fsync_dir(target.parent)
        return True

    def _assemble(self, files: list[io.FileIO], expected: Expectation) -> BlobInfo:
        """Hash the parts in order; write them to a new file unless the blob already exists."""
        exists = expected.digest is not None and self._blob_path(expected.digest).exists()
        if exists:
            info = _hash_files(files, out_fd=None)
            expected.verify(info)
            return info
        fd, path = self._temp(self._tmp, "assemble-")
        try:
            info = _hash_files(files, out_fd=fd)
            expected.verify(info)
            os.fsync(fd)
            self._place(path, info.digest)  # still held: no sweep can take it first
            return info
        finally:
            os.close(fd)
            unlink_quietly(path)

    def abort_upload(self, upload_id: str, handle: str) -> None:
        directory = self._upload_dir(upload_id)
        with self._translate("discarding an upload"):
            _remove_tree(directory)

    def delete(self, digest: str) -> None:
        with self._translate("deleting a blob"):
            unlink_quietly(self._blob_path(digest))

    def stored(self) -> Iterator[StoredObject]:
        with self._translate("listing blobs"):
            for first in _subfolders(self.root / "sha256"):
                for second in _subfolders(first):
                    yield from _blob_files(second)

    def quarantine(self, digest: str) -> str | None:
        source = self._blob_path(digest)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.root / "quarantine" / f"{source.name}.{stamp}"
        with self._translate("moving a blob aside"):
            make_dirs(target.parent)
            try:
                os.rename(source, target)
            except FileNotFoundError:
                return None
            fsync_dir(source.parent)
            return str(target)

    def reclaim(self) -> int:
        """Remove the temporary files of writers that died, in ``tmp/`` and in open sessions.

        A session outlives processes, so its folder and received parts stay;
        only a part that a dead process was still receiving goes.
        """
        with self._translate("reclaiming dead writers' files"):
            self._ensure_dirs()
            removed = reclaim_dead(self._tmp)
            for entry in os.scandir(self._uploads):
                if entry.is_dir(follow_symlinks=False):
                    removed += reclaim_dead(Path(entry.path))
            return removed

    def sweep(self, cutoff: dt.datetime, live: Container[str]) -> int:
        limit = cutoff.timestamp()
        removed = self.reclaim()
        with self._translate("sweeping leftovers"):
            for entry in os.scandir(self._uploads):
                if entry.name not in live and entry.stat().st_mtime < limit:
                    _remove_tree(Path(entry.path))
                    removed += 1
            for entry in os.scandir(self._tmp):
                # A held file's writer is alive (the dead ones' went above), however old.
                if not entry.name.endswith(SUFFIX) and entry.stat().st_mtime < limit:
                    unlink_quietly(entry.path)
                    removed += 1
        return removed

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"


def _subfolders(path: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _blob_files(folder: Path) -> Iterator[StoredObject]:
    """The blobs of one fan-out folder; a file that vanishes meanwhile (GC) is skipped."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not _HEX.fullmatch(entry.name):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        yield StoredObject(f"sha256:{entry.name}", stat.st_size, modified)


def _receive(fd: int, chunks: Iterable[bytes], *, direct: bool) -> BlobInfo:
    return hash_and_write(fd, chunks, direct=direct)


def _verify_again(chunks: Iterable[bytes], expected: Expectation) -> BlobInfo:
    """Bytes announced as a blob the store holds: verify them, but write nothing twice.

    Writing a second copy only to delete it costs a disk's worth of writes
    and an unlink (tens of ms for 256 MiB on ext4).  The stored file was
    verified when it was placed; if garbage collection removes it meanwhile,
    recording the blob notices and asks the client to send it again.
    """
    info = hash_only(chunks)
    expected.verify(info)
    return info


def _hash_files(files: list[io.FileIO], out_fd: int | None) -> BlobInfo:
    hasher = Hasher()
    buffer = bytearray(_ASSEMBLY_CHUNK)
    view = memoryview(buffer)
    out = Writeback(out_fd) if out_fd is not None else None
    for file in files:
        while count := file.readinto(buffer):
            hasher.update(view[:count])
            if out is not None:
                out.write(view[:count])
    return hasher.info()


def _open_parts(directory: Path, parts: Sequence[PartInfo]) -> list[io.FileIO]:
    files: list[io.FileIO] = []
    try:
        for part in parts:
            files.append(open(directory / f"part-{part.number:05d}", "rb", buffering=0))  # noqa: SIM115
    except FileNotFoundError:
        for file in files:
            file.close()
        raise InvalidParts(
            f"a part disappeared while completing; re-send part {part.number}"
        ) from None
    return files


def _record_digest(fd: int, info: BlobInfo) -> None:
    # Without user xattrs on this file system, completion simply hashes the part again.
    with contextlib.suppress(OSError):
        os.setxattr(fd, _XATTR, f"{info.size} {info.digest}".encode())


def _recorded_digest(fd: int) -> BlobInfo | None:
    try:
        size, digest = os.getxattr(fd, _XATTR).decode().split(" ", 1)
    except (OSError, ValueError):
        return None
    if int(size) != os.fstat(fd).st_size:
        return None
    return BlobInfo(digest, int(size))


@contextlib.contextmanager
def _session_lock(directory: Path, upload_id: str, *, shared: bool) -> Iterator[None]:
    """A ``flock`` on the session, across threads and worker processes.

    Part writers share it; a completion holds it exclusively, so the parts it
    hashes are exactly the parts it commits.
    """
    try:
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:
        raise UploadNotFound(f"upload session {upload_id!r} is gone") from None
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy(
                f"upload session {upload_id!r} is being completed by another request"
            ) from None
        yield
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)
