"""Core metadata extraction from wheels and sdists on disk, parsing and cross-checks."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from artifortress_pypi import archives
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import parse_filename
from artifortress_pypi.metadata import (
    check_matches_filename,
    load_distribution_metadata,
    parse_metadata,
)
from pypi_dists import make_sdist, make_wheel, metadata_text

from artifortress.plugin.archives import MiB, UnpackBudget
from artifortress.testing.bombs import tar_gz_bomb

RICH = (
    b"Metadata-Version: 2.4\r\nName: Foo.Bar_baz\r\nVersion: 1.0.0-RC1\r\n"
    b"Summary: A summary\r\nKeywords: one,two three\r\nClassifier: A :: B\r\n"
    b"Classifier: C :: D\r\nRequires-Python: >=3.9,<4\r\nRequires-Dist: requests>=2\r\n"
    b'Requires-Dist: tomli; python_version < "3.11"\r\nLicense-Expression: MIT\r\n'
    b"License-File: LICENSE\r\nAuthor: A. Person\r\nAuthor-email: a@example.org\r\n"
    b"Project-URL: Home, https://example.org\r\nDescription-Content-Type: text/markdown\r\n"
    b"X-Vendor-Thing: tolerated\r\n\r\n# Title\r\n\r\nBody \xc3\xa9\r\n"
)


def test_wheel_metadata_bytes_are_exact(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "foo_bar_baz-1.0rc1-py3-none-any.whl", RICH,
                       dist_info="foo_bar_baz-1.0rc1.dist-info")  # fmt: skip
    result = load_distribution_metadata(wheel, parse_filename(wheel.name))
    assert result.raw == RICH
    meta = result.metadata
    assert (meta.name, meta.version, meta.metadata_version) == ("Foo.Bar_baz", "1.0.0rc1", "2.4")
    assert meta.summary == "A summary"
    assert meta.keywords == ["one", "two three"]
    assert meta.classifiers == ["A :: B", "C :: D"]
    assert meta.requires_python == ">=3.9,<4"
    assert meta.requires_dist == ["requests>=2", 'tomli; python_version < "3.11"']
    assert meta.license_expression == "MIT"
    assert meta.license_files == ["LICENSE"]
    assert meta.author_email == "a@example.org"
    assert meta.project_urls == {"Home": "https://example.org"}
    assert meta.description_content_type == "text/markdown"
    assert "Body é" in (meta.description or "")
    assert meta.normalized_name == "foo-bar-baz"


@pytest.mark.parametrize("filename", ["foo_bar_baz-1.0.tar.gz", "foo_bar_baz-1.0.zip"])
def test_sdist_pkg_info(tmp_path: Path, filename: str) -> None:
    body = metadata_text(Requires_Python=">=3.8").encode()
    egg_info = {"foo_bar_baz-1.0/src/x.egg-info/PKG-INFO": b"other"}
    sdist = make_sdist(tmp_path, filename, body, extra_members=egg_info)
    result = load_distribution_metadata(sdist, parse_filename(sdist.name))
    assert result.raw == body
    assert result.metadata.requires_python == ">=3.8"


def test_sdist_with_dot_slash_members(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, top="./foo_bar_baz-1.0")
    assert load_distribution_metadata(sdist, parse_filename(sdist.name)).metadata.version == "1.0"


def test_real_build_backend_output(tmp_path: Path) -> None:
    """A wheel and sdist built by ``python -m build`` (hatchling) parse and cross-check."""
    project = tmp_path / "proj"
    (project / "mixed_Case").mkdir(parents=True)
    (project / "mixed_Case" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "Mixed.Case_Name"\nversion = "2.0"\nrequires-python = ">=3.8"\n'
        'dependencies = ["packaging"]\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["mixed_Case"]\n'
    )
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
        check=True, capture_output=True,
    )  # fmt: skip
    built = sorted(out.iterdir())
    assert sorted(p.suffix for p in built) == [".gz", ".whl"]
    for path in built:
        result = load_distribution_metadata(path, parse_filename(path.name))
        assert result.metadata.normalized_name == "mixed-case-name"
        assert result.metadata.requires_dist == ["packaging"]
        assert result.raw.startswith(b"Metadata-Version: ")


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"other-1.0.dist-info/METADATA": b"x"}, "multiple .dist-info"),
        ({"../evil.py": b"x"}, "unsafe member name"),
        ({"/etc/evil": b"x"}, "unsafe member name"),
        ({"a/../../evil": b"x"}, "unsafe member name"),
        ({"C:/evil": b"x"}, "unsafe member name"),
    ],
)
def test_wheel_refusals(tmp_path: Path, members: dict[str, bytes], reason: str) -> None:
    wheel = make_wheel(tmp_path, extra_members=members)
    with pytest.raises(PypiError, match=reason):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_wheel_duplicate_member_refused(tmp_path: Path) -> None:
    """Two METADATA members: tools could disagree on which is real, so neither is taken."""
    with pytest.warns(UserWarning, match="Duplicate name"):
        wheel = make_wheel(tmp_path, extra_members={"foo_bar_baz-1.0.dist-info/METADATA": b"2"})
    with pytest.raises(PypiError, match="duplicate member"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_wheel_without_dist_info(tmp_path: Path) -> None:
    path = tmp_path / "foo_bar_baz-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("foo_bar_baz/__init__.py", b"")
    with pytest.raises(PypiError, match=r"does not contain a \.dist-info directory"):
        load_distribution_metadata(path, parse_filename(path.name))


def test_wheel_without_metadata_file(tmp_path: Path) -> None:
    path = tmp_path / "foo_bar_baz-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("foo_bar_baz-1.0.dist-info/WHEEL", b"")
    with pytest.raises(PypiError, match="does not contain the required METADATA file"):
        load_distribution_metadata(path, parse_filename(path.name))


def test_wheel_dist_info_of_another_project(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, dist_info="other-1.0.dist-info")
    with pytest.raises(PypiError, match="does not start with 'foo-bar-baz'"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage" * 100])
def test_corrupt_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "foo_bar_baz-1.0-py3-none-any.whl"
    path.write_bytes(content)
    with pytest.raises(PypiError, match="not a valid zip archive"):
        load_distribution_metadata(path, parse_filename(path.name))


def test_truncated_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    data = wheel.read_bytes()
    wheel.write_bytes(data[: len(data) // 2])
    with pytest.raises(PypiError, match="Invalid distribution file"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_corrupted_metadata_member(tmp_path: Path) -> None:
    """Flipped compressed bytes fail the CRC or inflate, never pass silently."""
    body = metadata_text(Summary="x" * 5000).encode()
    wheel = make_wheel(tmp_path, metadata=body)
    data = bytearray(wheel.read_bytes())
    start = data.find(b"foo_bar_baz-1.0.dist-info/METADATA") + 40
    data[start : start + 50] = bytes(50)
    wheel.write_bytes(bytes(data))
    with pytest.raises(PypiError, match="Invalid distribution file"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_zip_bomb_metadata_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A METADATA member that inflates past the bound is refused, whatever its header says."""
    monkeypatch.setattr(archives, "MAX_METADATA_SIZE", 1024)
    bomb = metadata_text().encode() + b"\n" + b"A" * 5_000_000
    wheel = make_wheel(tmp_path, metadata=bomb)
    assert wheel.stat().st_size < 50_000
    with pytest.raises(PypiError, match=r"larger than|too large"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_zip_bomb_lying_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A central directory that understates the size still cannot inflate past the bound."""
    monkeypatch.setattr(archives, "MAX_METADATA_SIZE", 1024)
    bomb = metadata_text().encode() + b"A" * 100_000
    wheel = make_wheel(tmp_path, metadata=bomb)
    data = bytearray(wheel.read_bytes())
    name = b"foo_bar_baz-1.0.dist-info/METADATA"
    local = data.rfind(b"PK\x03\x04", 0, data.find(name))
    central = data.rfind(b"PK\x01\x02", 0, data.find(name, local + 40))
    # Uncompressed size: offset 22 in a local header, 24 in a central directory entry.
    data[local + 22 : local + 26] = struct.pack("<I", 100)
    data[central + 24 : central + 28] = struct.pack("<I", 100)
    wheel.write_bytes(bytes(data))
    with pytest.raises(PypiError, match="Invalid distribution file"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


def test_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBERS", 10)
    wheel = make_wheel(tmp_path, extra_members={f"foo_bar_baz/m{i}.py": b"" for i in range(20)})
    with pytest.raises(PypiError, match="too many members"):
        load_distribution_metadata(wheel, parse_filename(wheel.name))


@pytest.mark.parametrize(
    ("top", "extra", "reason"),
    [
        ("foo_bar_baz-1.0", {"other/PKG-INFO": b"x"}, "2 top-level PKG-INFO"),
        ("a/b", {}, "no PKG-INFO in its top directory"),
        ("foo_bar_baz-1.0", {"../evil": b"x"}, "unsafe member name"),
    ],
)
def test_sdist_refusals(tmp_path: Path, top: str, extra: dict[str, bytes], reason: str) -> None:
    sdist = make_sdist(tmp_path, top=top, extra_members=extra)
    with pytest.raises(PypiError, match=reason):
        load_distribution_metadata(sdist, parse_filename(sdist.name))


def test_sdist_pkg_info_symlink_refused(tmp_path: Path) -> None:
    path = tmp_path / "foo_bar_baz-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("foo_bar_baz-1.0/PKG-INFO")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    with pytest.raises(PypiError, match="not a regular file"):
        load_distribution_metadata(path, parse_filename(path.name))


@pytest.mark.parametrize("content", [b"", b"not gzip", b"\x1f\x8b\x08\x00garbage"])
def test_corrupt_tar(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "foo_bar_baz-1.0.tar.gz"
    path.write_bytes(content)
    with pytest.raises(PypiError, match=r"not a valid tar\.gz"):
        load_distribution_metadata(path, parse_filename(path.name))


def bomb_sdist(tmp_path: Path, zeros: int, *, pkg_info_first: bool = False) -> Path:
    """foo_bar_baz-1.0.tar.gz of about a MB per GiB of zeros, before (or after) its PKG-INFO."""
    pkg_info = {"foo_bar_baz-1.0/PKG-INFO": metadata_text().encode()}
    before, after = (pkg_info, {}) if pkg_info_first else ({}, pkg_info)
    path = tmp_path / "foo_bar_baz-1.0.tar.gz"
    path.write_bytes(
        tar_gz_bomb(zeros, after, zeros_name="foo_bar_baz-1.0/zeros.bin", before=before)
    )
    return path


def test_tar_gzip_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A GiB of zeros before PKG-INFO in a 1 MB sdist: refused after 64 MiB, not after minutes."""
    sdist = bomb_sdist(tmp_path, 1024 * MiB)
    assert sdist.stat().st_size < 2 * MiB
    started = time.monotonic()
    with pytest.raises(PypiError) as refused:
        load_distribution_metadata(sdist, parse_filename(sdist.name))
    assert time.monotonic() - started < 10
    assert refused.value.status == 400
    assert refused.value.message == (
        "Invalid distribution file: foo_bar_baz-1.0.tar.gz unpacks to more than 64 MiB "
        "(the limit is 32 times its size, at least 64 MiB)."
    )


def test_tar_budget_past_the_pkg_info_only_ends_the_search_for_a_second(tmp_path: Path) -> None:
    sdist = bomb_sdist(tmp_path, 1024 * MiB, pkg_info_first=True)
    started = time.monotonic()
    assert load_distribution_metadata(sdist, parse_filename(sdist.name)).metadata.version == "1.0"
    assert time.monotonic() - started < 10


def test_tar_inspection_has_a_deadline(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path)
    out_of_time = UnpackBudget(seconds=-1, seconds_per_mib=0)
    with pytest.raises(PypiError, match="takes more than -1 s to inspect"):
        archives.read_tar_sdist_metadata(sdist, parse_filename(sdist.name), out_of_time)


def test_a_header_claiming_a_huge_pax_record_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A forged header size must not make the reader allocate the whole budget at once."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 512 * MiB
    path = tmp_path / "foo_bar_baz-1.0.tar.gz"
    path.write_bytes(gzip.compress(header.tobuf(format=tarfile.USTAR_FORMAT) + bytes(1024)))
    with pytest.raises(PypiError, match=r"too large to read \(more than 16 MiB at once\)"):
        load_distribution_metadata(path, parse_filename(path.name))


def test_tar_pkg_info_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_METADATA_SIZE", 10)
    sdist = make_sdist(tmp_path)
    with pytest.raises(PypiError, match="too large"):
        load_distribution_metadata(sdist, parse_filename(sdist.name))


def test_tar_in_memory_stream_is_not_needed(tmp_path: Path) -> None:
    """A large sdist is read as a stream: the PKG-INFO after 20 MB of data is still found."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz", compresslevel=1) as archive:
        for name, payload in (("foo_bar_baz-1.0/blob", b"\0" * 20_000_000),
                              ("foo_bar_baz-1.0/PKG-INFO", metadata_text().encode())):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    path = tmp_path / "foo_bar_baz-1.0.tar.gz"
    path.write_bytes(data.getvalue())
    assert load_distribution_metadata(path, parse_filename(path.name)).metadata.version == "1.0"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"Metadata-Version: 2.1\nVersion: 1.0\n\n", "'name' is a required field"),
        (b"Metadata-Version: 2.1\nName: foo\n\n", "'version' is a required field"),
        (b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nName: bar\n\n", "malformed field"),
        (b"Metadata-Version: 2.1\nName: -foo\nVersion: 1.0\n\n", "invalid for 'name'"),
        (b"Metadata-Version: 2.1\nName: foo\nVersion: one\n\n", "invalid for 'version'"),
        (b"Metadata-Version: 2.1\nName: foo\nVersion: 1\nRequires-Dist: x ((\n\n", "requires-dist"),
        (b"Metadata-Version: 2.1\nName: foo\nVersion: 1\nRequires-Python: >=>3\n\n",
         "requires-python"),
        (b"Metadata-Version: 9.9\nName: foo\nVersion: 1.0\n\n", "not a valid metadata version"),
    ],
)  # fmt: skip
def test_parse_refusals(text: bytes, reason: str) -> None:
    with pytest.raises(PypiError, match=reason) as caught:
        parse_metadata(text)
    assert "packaging.python.org/specifications/core-metadata" in caught.value.message


def test_unknown_headers_are_tolerated() -> None:
    meta = parse_metadata(b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nX-Custom: y\n\n")
    assert meta.name == "foo"


@pytest.mark.parametrize(
    ("name", "version", "filename", "reason"),
    [
        ("other", "1.0", "foo-1.0.tar.gz", "Start filename for 'other'"),
        ("foo", "1.1", "foo-1.0.tar.gz", "Version in filename should be '1.1' not '1.0'"),
    ],
)
def test_filename_cross_check(name: str, version: str, filename: str, reason: str) -> None:
    meta = parse_metadata(metadata_text(name, version).encode())
    with pytest.raises(PypiError, match=reason):
        check_matches_filename(meta, parse_filename(filename))


def test_cross_check_normalizes() -> None:
    meta = parse_metadata(metadata_text("Foo.BAR", "1.0.0-alpha1").encode())
    check_matches_filename(meta, parse_filename("foo_bar-1.0.0a1-py3-none-any.whl"))


def test_newer_fields_under_an_older_metadata_version_are_accepted_as_pypi_does():
    # setuptools wrote License-File under Metadata-Version 2.1 (boto3, six, ... on PyPI).
    data = metadata_text(version="1.0", License_File="LICENSE").encode()
    assert b"Metadata-Version: 2.1" in data
    parsed = parse_metadata(data)
    assert parsed.license_files == ["LICENSE"]
    assert parsed.metadata_version == "2.1", "the file's own declaration is kept"


def test_other_errors_still_refuse_when_a_newer_field_is_present():
    data = metadata_text(version="not a version", License_File="LICENSE").encode()
    with pytest.raises(PypiError, match="version"):
        parse_metadata(data)
