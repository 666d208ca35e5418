"""Read the core metadata file out of an uploaded wheel or sdist on disk, safely.

Only the one member needed is decompressed, with a size bound, so a file of hundreds of MB
costs a central-directory read (zip) or one streaming pass (tar.gz), never its size in memory;
that pass stays within a budget of bytes and time in proportion to the file's size.
Corrupt archives, zip bombs, duplicate or traversing member names and ambiguous layouts are
refused with a PypiError that twine can show.
"""

from __future__ import annotations

import os
import struct
import tarfile
import zipfile
import zlib
from typing import IO, Final

from artifortress.plugin.archives import ArchiveTooCostly, GunzipReader, UnpackBudget

from .errors import PypiError
from .filenames import ParsedFilename
from .names import normalize

MAX_METADATA_SIZE: Final = 10 * 1024 * 1024
MAX_MEMBERS: Final = 200_000
MAX_CENTRAL_DIRECTORY: Final = 64 * 1024 * 1024
#: What reading a tar.gz may cost: bytes in proportion to its size, and time (a gzip bomb).
UNPACK_BUDGET: Final = UnpackBudget()

_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


def read_core_metadata(path: str | os.PathLike[str], parsed: ParsedFilename) -> bytes:
    """Return the exact bytes of the distribution's core metadata file (METADATA or PKG-INFO)."""
    if parsed.kind == "bdist_wheel":
        return read_wheel_metadata(path, parsed)
    if parsed.filename.endswith(".zip"):
        return read_zip_sdist_metadata(path, parsed)
    return read_tar_sdist_metadata(path, parsed)


def read_wheel_metadata(path: str | os.PathLike[str], parsed: ParsedFilename) -> bytes:
    """Return ``{name}-{version}.dist-info/METADATA`` of a wheel, byte for byte (PEP 658)."""
    with _open_zip(path, parsed.filename) as archive:
        names = _checked_member_names(archive, parsed.filename)
        dist_info = _single_dist_info(names, parsed)
        member = f"{dist_info}/METADATA"
        if member not in names:
            raise PypiError(
                f"Wheel {parsed.filename!r} does not contain the required METADATA file: {member}"
            )
        return _read_zip_member(archive, member, parsed.filename)


def read_zip_sdist_metadata(path: str | os.PathLike[str], parsed: ParsedFilename) -> bytes:
    """Return ``{top}/PKG-INFO`` of a legacy .zip sdist."""
    with _open_zip(path, parsed.filename) as archive:
        names = _checked_member_names(archive, parsed.filename)
        member = _single_pkg_info([name for name in names], parsed.filename)
        return _read_zip_member(archive, member, parsed.filename)


def read_tar_sdist_metadata(
    path: str | os.PathLike[str], parsed: ParsedFilename, budget: UnpackBudget = UNPACK_BUDGET
) -> bytes:
    """Return ``{top}/PKG-INFO`` of a .tar.gz sdist, reading the archive once, within *budget*.

    The archive is read on after the PKG-INFO only to refuse a second one: if
    the budget runs out there, the one found stands; before it, it is a 400.
    """
    found: list[bytes] = []
    try:
        with open(path, "rb") as raw, GunzipReader(raw, budget, what=parsed.filename).tar() as tar:
            _collect_pkg_info(tar, parsed.filename, found)
    except ArchiveTooCostly as exc:
        if not found:
            raise PypiError(f"Invalid distribution file: {exc.message}.") from None
    except (tarfile.TarError, *_ARCHIVE_ERRORS) as exc:
        raise PypiError(
            f"Invalid distribution file: {parsed.filename!r} is not a valid tar.gz archive ({exc})."
        ) from None
    if len(found) != 1:
        raise _pkg_info_error(len(found), parsed.filename)
    return found[0]


def _collect_pkg_info(archive: tarfile.TarFile, filename: str, found: list[bytes]) -> None:
    """Append each top-level PKG-INFO of *archive* to *found*, checking every member name."""
    for count, member in enumerate(archive, start=1):
        if count > MAX_MEMBERS:
            raise PypiError(f"Invalid distribution file: more than {MAX_MEMBERS} members.")
        if _is_top_pkg_info(_member_name(member.name, filename)):
            found.append(_read_tar_member(archive, member, filename))


def _open_zip(path: str | os.PathLike[str], filename: str) -> zipfile.ZipFile:
    """Open a zip after bounding its central directory, so a forged one cannot eat memory."""
    try:
        _check_central_directory(path)
        return zipfile.ZipFile(os.fspath(path))
    except PypiError:
        raise
    except _ARCHIVE_ERRORS as exc:
        raise PypiError(
            f"Invalid distribution file: {filename!r} is not a valid zip archive ({exc})."
        ) from None


def _check_central_directory(path: str | os.PathLike[str]) -> None:
    """Refuse a zip whose end record announces too many entries or too large a directory."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
        where = tail.rfind(b"PK\x05\x06")
        if where < 0 or len(tail) - where < 22:
            raise zipfile.BadZipFile("no end of central directory record")
        entries, directory_size = struct.unpack("<xxxxxxxxxxHI", tail[where : where + 16])
        if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
            entries, directory_size = _zip64_counts(handle, size - len(tail) + where)
    if entries > MAX_MEMBERS or directory_size > MAX_CENTRAL_DIRECTORY:
        raise PypiError(
            f"Invalid distribution file: too many members ({entries}) or too large a "
            f"central directory ({directory_size} bytes)."
        )


def _zip64_counts(handle: IO[bytes], end_record_offset: int) -> tuple[int, int]:
    """Read entry count and directory size from the zip64 end record (files over 4 GiB)."""
    handle.seek(max(0, end_record_offset - 20))
    locator = handle.read(20)
    if len(locator) != 20 or not locator.startswith(b"PK\x06\x07"):
        raise zipfile.BadZipFile("missing zip64 end of central directory locator")
    (record_offset,) = struct.unpack("<Q", locator[8:16])
    handle.seek(record_offset)
    record = handle.read(56)
    if len(record) != 56 or not record.startswith(b"PK\x06\x06"):
        raise zipfile.BadZipFile("bad zip64 end of central directory record")
    entries, directory_size = struct.unpack("<QQ", record[32:48])
    return int(entries), int(directory_size)


def _checked_member_names(archive: zipfile.ZipFile, filename: str) -> set[str]:
    """Return the member names, refusing duplicates and names that traverse or are absolute."""
    names: set[str] = set()
    for info in archive.infolist():
        name = _member_name(info.filename, filename)
        if name in names:
            raise PypiError(f"Invalid distribution file: duplicate member {name!r}.")
        names.add(name)
    return names


def _member_name(name: str, filename: str) -> str:
    """Return a member name without a leading ``./``, refusing absolute or ``..`` paths."""
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PypiError(f"Invalid distribution file: unsafe member name {name!r} in {filename!r}.")
    # What PurePosixPath(name).parts gives for a relative name (empty and "."
    # segments dropped), at a tenth of the cost: numpy and botocore wheels hold
    # thousands of members, and each is checked.
    parts = [part for part in name.split("/") if part and part != "."]
    if ".." in parts:
        raise PypiError(f"Invalid distribution file: unsafe member name {name!r} in {filename!r}.")
    return "/".join(parts)


def _single_dist_info(names: set[str], parsed: ParsedFilename) -> str:
    """Return the one top-level ``*.dist-info`` directory, which must belong to the project."""
    candidates = {name.split("/", 1)[0] for name in names if "/" in name}
    dist_infos = sorted(top for top in candidates if top.endswith(".dist-info"))
    if not dist_infos:
        raise PypiError(f"Wheel {parsed.filename!r} does not contain a .dist-info directory.")
    if len(dist_infos) > 1:
        found = ", ".join(dist_infos)
        raise PypiError(
            f"Wheel {parsed.filename!r} contains multiple .dist-info directories: {found}."
        )
    dist_info = dist_infos[0]
    # As pip does: the directory name, normalized, must start with the project's name.
    if not normalize(dist_info).startswith(parsed.name + "-"):
        raise PypiError(
            f"Wheel {parsed.filename!r}: .dist-info directory {dist_info!r} does not start "
            f"with {parsed.name!r}."
        )
    return dist_info


def _read_zip_member(archive: zipfile.ZipFile, member: str, filename: str) -> bytes:
    """Decompress one member, refusing it past MAX_METADATA_SIZE whatever its header claims."""
    info = archive.getinfo(member)
    if info.file_size > MAX_METADATA_SIZE:
        raise PypiError(
            f"Invalid distribution file: {member} is larger than "
            f"{MAX_METADATA_SIZE // (1024 * 1024)} MiB."
        )
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_METADATA_SIZE + 1)
    except (RuntimeError, *_ARCHIVE_ERRORS) as exc:
        raise PypiError(
            f"Invalid distribution file: cannot read {member} from {filename!r} ({exc})."
        ) from None
    if len(data) > MAX_METADATA_SIZE:
        raise PypiError(f"Invalid distribution file: {member} is too large.")
    return data


def _is_top_pkg_info(name: str) -> bool:
    """Tell whether a member is ``{top}/PKG-INFO`` (the sdist's own, not an egg-info copy)."""
    parts = name.split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def _single_pkg_info(names: list[str], filename: str) -> str:
    """Return the one ``{top}/PKG-INFO`` member name of a zip sdist."""
    found = [name for name in names if _is_top_pkg_info(name)]
    if len(found) != 1:
        raise _pkg_info_error(len(found), filename)
    return found[0]


def _read_tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo, filename: str) -> bytes:
    """Read a regular-file member of a streamed tar, bounded by MAX_METADATA_SIZE."""
    if not member.isreg():
        raise PypiError(f"Invalid distribution file: {member.name} is not a regular file.")
    if member.size > MAX_METADATA_SIZE:
        raise PypiError(f"Invalid distribution file: {member.name} is too large.")
    handle = archive.extractfile(member)
    if handle is None:  # pragma: no cover - isreg() members always have a file object
        raise PypiError(f"Invalid distribution file: cannot read {member.name} from {filename!r}.")
    return handle.read(MAX_METADATA_SIZE + 1)


def _pkg_info_error(count: int, filename: str) -> PypiError:
    """The refusal for an sdist with no, or more than one, top-level PKG-INFO."""
    if count == 0:
        return PypiError(
            f"Invalid distribution file: {filename!r} has no PKG-INFO in its top directory."
        )
    return PypiError(
        f"Invalid distribution file: {filename!r} has {count} top-level PKG-INFO files."
    )
