"""Tarball inspection (bounded), digests and the checks of client-declared dist values."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.tarball import (
    Digests,
    TarballLimits,
    file_digests,
    inspect_tarball,
    verify_declared,
)
from npm_testkit import Published

from artifortress.testing.bombs import tar_gz_bomb

MANIFEST = json.dumps({"name": "p", "version": "1.0.0"}).encode()


def make_tgz(path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], **kw: object) -> Path:
    """Write a gzipped tar of ``(name, data)`` files and prepared TarInfo entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", **kw) as archive:  # type: ignore[call-overload]
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
                continue
            name, data = entry
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def test_real_npm_tarball(published: dict[str, Published], tmp_path: Path) -> None:
    body = json.loads(published["@acme/hello"].body)
    attachment = body["_attachments"]["@acme/hello-1.0.0.tgz"]
    path = tmp_path / "hello.tgz"
    path.write_bytes(base64.b64decode(attachment["data"]))
    info = inspect_tarball(path)
    assert info.manifest["name"] == "@acme/hello"
    assert info.manifest["version"] == "1.0.0"
    with tarfile.open(path) as archive:
        files = [m for m in archive.getmembers() if m.isreg()]
    assert info.file_count == len(files) == 3
    assert info.unpacked_size == sum(m.size for m in files)
    dist = body["versions"]["1.0.0"]["dist"]
    assert (info.digests.sha1, info.digests.integrity) == (dist["shasum"], dist["integrity"])
    assert info.digests.size == attachment["length"]
    assert not info.has_shrinkwrap
    verify_declared(dist, info.digests, declared_length=attachment["length"])


def test_any_top_directory_is_accepted_and_extras_detected(tmp_path: Path) -> None:
    path = make_tgz(
        tmp_path / "a.tgz",
        [
            ("node-p/package.json", b"\xef\xbb\xbf" + MANIFEST),  # a BOM, as npm tolerates
            ("node-p/npm-shrinkwrap.json", b"{}"),
            ("node-p/binding.gyp", b"{}"),
            ("node-p/lib/package.json", b"not json, not the manifest"),
        ],
    )
    info = inspect_tarball(path)
    assert info.manifest == {"name": "p", "version": "1.0.0"}
    assert (info.file_count, info.has_shrinkwrap, info.has_binding_gyp) == (4, True, True)
    assert info.unpacked_size == len(MANIFEST) + 3 + 2 + 2 + 26


def test_links_are_ignored_not_counted(tmp_path: Path) -> None:
    link = tarfile.TarInfo("package/escape")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("package/hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "package/package.json"
    directory = tarfile.TarInfo("package/lib")
    directory.type = tarfile.DIRTYPE
    path = make_tgz(tmp_path / "l.tgz", [directory, ("package/package.json", MANIFEST), link, hard])
    info = inspect_tarball(path)
    assert (info.file_count, info.unpacked_size) == (1, len(MANIFEST))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("package/index.js", b"x")], "no package.json"),
        ([("package/lib/package.json", MANIFEST)], "no package.json"),
        ([("package.json", MANIFEST)], "no package.json"),
        ([("a/package.json", MANIFEST), ("b/package.json", MANIFEST)], "more than one"),
        ([("package/package.json", MANIFEST), ("package/../../evil", b"x")], "escapes"),
        ([("package/package.json", MANIFEST), ("/etc/cron.d/x", b"x")], "absolute"),
        ([("package/package.json", MANIFEST), ("package\\..\\..\\x", b"x")], "escapes"),
        ([("package/package.json", MANIFEST), ("C:/x", b"x")], "absolute"),
        ([("package/package.json", b"{nope")], "not valid JSON"),
        ([("package/package.json", b"\xff\xfe")], "not valid JSON"),
        ([("package/package.json", b"[1]")], "not a JSON object"),
        ([("package/package.json", b"[" * 100_000)], "not valid JSON"),
    ],
)
def test_bad_archives_are_refused(
    tmp_path: Path, entries: list[tuple[str, bytes]], message: str
) -> None:
    with pytest.raises(NpmError) as info:
        inspect_tarball(make_tgz(tmp_path / "bad.tgz", list(entries)))
    assert info.value.status == 400
    assert message in info.value.message


def good_tgz(tmp_path: Path) -> bytes:
    return make_tgz(tmp_path / "g.tgz", [("package/package.json", MANIFEST)]).read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: os.urandom(len(data)),
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-8] + bytes(b ^ 0xFF for b in data[-8:-4]) + data[-4:],  # bad CRC
        lambda data: gzip.compress(b"plain text, not a tar archive" * 30, mtime=0),
        lambda data: gzip.compress(b"", mtime=0),
        lambda data: gzip.decompress(data),  # a tar that is not gzipped
    ],
)
def test_corrupt_archives_are_refused(tmp_path: Path, damage: object) -> None:
    assert callable(damage)
    path = tmp_path / "c.tgz"
    path.write_bytes(damage(good_tgz(tmp_path)))
    with pytest.raises(NpmError, match=r"corrupt tarball|no package.json") as info:
        inspect_tarball(path)
    assert info.value.status == 400


def test_gzip_bomb_stops_at_the_unpacked_limit(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("package/zeros")
        info.size = 64 * 1024 * 1024
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    path = tmp_path / "bomb.tgz"
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=1, mtime=0))
    assert path.stat().st_size < 2 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(NpmError) as error:
        inspect_tarball(path, TarballLimits(max_unpacked_size=10 * 1024 * 1024))
    assert error.value.status == 413
    assert time.perf_counter() - started < 2


def test_gzip_bomb_is_refused_in_proportion_to_the_tarball(tmp_path: Path) -> None:
    """A GiB of zeros in a 1 MB tarball, under the default 2 GiB limit: a 400, at once."""
    path = tmp_path / "bomb.tgz"
    manifest = {"package/package.json": MANIFEST}
    path.write_bytes(tar_gz_bomb(1024 * 1024 * 1024, manifest, zeros_name="package/zeros"))
    assert path.stat().st_size < 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(NpmError) as error:
        inspect_tarball(path)
    assert time.monotonic() - started < 10
    assert (error.value.status, error.value.message) == (
        400,
        "the tarball unpacks to more than 64 MiB (the limit is 32 times its size, at least 64 MiB)",
    )


def test_entry_count_limit(tmp_path: Path) -> None:
    entries = [("package/package.json", MANIFEST)] + [(f"package/{i}", b"") for i in range(50)]
    with pytest.raises(NpmError, match="more than 20 entries") as info:
        inspect_tarball(make_tgz(tmp_path / "n.tgz", list(entries)), TarballLimits(max_entries=20))
    assert info.value.status == 413


def test_manifest_size_limit(tmp_path: Path) -> None:
    big = json.dumps({"name": "p", "version": "1.0.0", "x": "y" * 5000}).encode()
    with pytest.raises(NpmError, match="larger than 1000") as info:
        inspect_tarball(
            make_tgz(tmp_path / "m.tgz", [("package/package.json", big)]),
            TarballLimits(max_manifest_size=1000),
        )
    assert info.value.status == 413


def test_huge_pax_header_is_not_read_into_memory(tmp_path: Path) -> None:
    info = tarfile.TarInfo("package/package.json")
    info.size = len(MANIFEST)
    info.pax_headers = {"comment": "x" * (6 * 1024 * 1024)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(MANIFEST))
    path = tmp_path / "pax.tgz"
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    with pytest.raises(NpmError, match="too large"):
        inspect_tarball(path)


def test_file_digests(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    path = tmp_path / "f"
    path.write_bytes(data)
    digests = file_digests(path)
    assert digests.size == len(data)
    assert digests.sha1 == hashlib.sha1(data).hexdigest()
    assert digests.integrity == "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


DATA = b"tarball bytes"
ACTUAL = Digests(
    size=len(DATA),
    sha1=hashlib.sha1(DATA).hexdigest(),
    integrity="sha512-" + base64.b64encode(hashlib.sha512(DATA).digest()).decode(),
)
SHA1_SRI = "sha1-" + base64.b64encode(hashlib.sha1(DATA).digest()).decode()


@pytest.mark.parametrize(
    "dist",
    [
        None,
        {},
        {"shasum": ACTUAL.sha1, "integrity": ACTUAL.integrity},
        {"shasum": ACTUAL.sha1.upper()},
        {"integrity": f"{SHA1_SRI} {ACTUAL.integrity}?opt"},
        {"integrity": "sha256-whatever " + ACTUAL.integrity},
    ],
)
def test_matching_declarations_pass(dist: object) -> None:
    verify_declared(dist, ACTUAL, declared_length=len(DATA))


@pytest.mark.parametrize(
    ("dist", "length", "message"),
    [
        ({"shasum": "0" * 40}, None, "shasum mismatch"),
        ({"shasum": 5}, None, "shasum mismatch"),
        ({"integrity": "sha512-AAAA"}, None, "integrity mismatch"),
        ({"integrity": SHA1_SRI.replace("sha1-", "sha1-x")}, None, "integrity mismatch"),
        ({"integrity": "garbage"}, None, "not a subresource integrity"),
        ({"integrity": ""}, None, "non-empty"),
        ([], None, "dist must be an object"),
        ({}, len(DATA) + 1, "length mismatch"),
    ],
)
def test_mismatched_declarations_fail(dist: object, length: int | None, message: str) -> None:
    with pytest.raises(NpmError, match=message) as info:
        verify_declared(dist, ACTUAL, declared_length=length)
    assert info.value.status == 400
