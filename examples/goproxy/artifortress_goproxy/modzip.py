"""Checking an uploaded module zip as the go command will, and taking its go.mod out.

The limits are those of ``golang.org/x/mod/zip``. Only go.mod is decompressed
here (at most 16 MiB); the other files are judged by their declared sizes, and
the go command verifies every byte against its checksum when it downloads.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from pathlib import Path

from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.modpath import check_file_path
from artifortress_goproxy.semver import Version

MAX_ZIP = 500 << 20  # the zip, and the sum of its files' sizes
MAX_GO_MOD = 16 << 20
MAX_LICENSE = 16 << 20
_FILE_LIMITS = {"go.mod": MAX_GO_MOD, "LICENSE": MAX_LICENSE}


def go_mod_of(path: Path, module: str, version: Version) -> bytes:
    """The ``.mod`` to serve for the module zip at *path*; 400 (or 413) if the zip is wrong.

    A ``+incompatible`` version predates modules and has no go.mod: its
    ``.mod`` is the one line the go command would synthesize.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            files = _checked_files(archive, f"{module}@{version.text}/")
            go_mod = _read_go_mod(archive, files.get("go.mod"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        raise GoProxyError(f"the module zip is not a valid zip file: {exc}") from None
    if version.incompatible:
        if go_mod is not None:
            raise GoProxyError(
                f"{version.text} has a go.mod: a module with go.mod needs the /v{version.major} "
                "path suffix instead of +incompatible"
            )
        return f"module {module}\n".encode()
    if go_mod is None:
        raise GoProxyError("the module zip has no go.mod at its root")
    declared = module_line(go_mod)
    if declared != module:
        raise GoProxyError(f"go.mod declares module {declared!r}, not {module!r}")
    return go_mod


def _checked_files(archive: zipfile.ZipFile, prefix: str) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by name under *prefix*, after the path, duplicate and size checks."""
    files: dict[str, zipfile.ZipInfo] = {}
    folded: set[str] = set()
    total = 0
    for info in archive.infolist():
        if not info.filename.startswith(prefix):
            raise GoProxyError(f"{info.filename!r} in the module zip is not under {prefix}")
        name = info.filename.removeprefix(prefix).removesuffix("/")
        if not name:
            continue
        check_file_path(name)
        if info.is_dir():
            continue
        if name.lower() in folded:  # one would overwrite the other on macOS and Windows
            raise GoProxyError(f"the module zip holds {name!r} twice (ignoring case)")
        folded.add(name.lower())
        if posixpath.basename(name).lower() == "go.mod" and name != "go.mod":
            raise GoProxyError(f"{name!r}: the only go.mod of a module zip is go.mod at its root")
        limit = _FILE_LIMITS.get(name)
        if limit is not None and info.file_size > limit:
            raise GoProxyError(f"{name} is larger than {limit >> 20} MiB", 413)
        total += info.file_size
        files[name] = info
    if total > MAX_ZIP:
        raise GoProxyError(f"the module's files add up to more than {MAX_ZIP >> 20} MiB", 413)
    return files


def _read_go_mod(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None) -> bytes | None:
    if info is None:
        return None
    with archive.open(info) as handle:
        data = handle.read(MAX_GO_MOD + 1)  # bounded even if the header lies
    if len(data) > MAX_GO_MOD:
        raise GoProxyError(f"go.mod is larger than {MAX_GO_MOD >> 20} MiB", 413)
    return data


def module_line(go_mod: bytes) -> str:
    """The path of go.mod's ``module`` directive (quoted or not); 400 without one."""
    try:
        text = go_mod.decode()
    except UnicodeDecodeError:
        raise GoProxyError("go.mod is not UTF-8") from None
    for line in text.splitlines():
        words = line.partition("//")[0].split()
        if len(words) == 2 and words[0] == "module":
            return _unquoted(words[1])
    raise GoProxyError("go.mod has no module directive")


def _unquoted(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in '"`':
        return word[1:-1]
    return word
