"""Distribution filename parsing and refusals."""

from __future__ import annotations

import pytest
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import belongs_to, parse_filename
from packaging.version import Version


@pytest.mark.parametrize(
    ("filename", "name", "version", "kind"),
    [
        ("Foo_Bar-1.0-py3-none-any.whl", "foo-bar", "1.0", "bdist_wheel"),
        ("foo_bar-1.0.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.whl", "foo-bar", "1.0.0rc1",
         "bdist_wheel"),
        ("foo-2!1.0+local.7-py2.py3-none-any.whl", "foo", "2!1.0+local.7", "bdist_wheel"),
        ("foo_bar-1.0.tar.gz", "foo-bar", "1.0", "sdist"),
        ("Foo.Bar-1.0.zip", "foo-bar", "1.0", "sdist"),
        ("foo-1.0RC1.tar.gz", "foo", "1.0rc1", "sdist"),
    ],
)  # fmt: skip
def test_parses(filename: str, name: str, version: str, kind: str) -> None:
    parsed = parse_filename(filename)
    assert (parsed.name, parsed.version_string, parsed.kind) == (name, version, kind)
    assert parsed.version == Version(version)
    assert parsed.filename == filename


def test_python_version() -> None:
    assert parse_filename("foo-1.0-py2.py3-none-any.whl").python_version == "py2.py3"
    assert parse_filename("foo-1.0-1-cp311-abi3-any.whl").python_version == "cp311"
    assert parse_filename("foo-1.0.tar.gz").python_version == "source"


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("", "empty"),
        ("../foo-1.0.tar.gz", "path separators"),
        ("dir/foo-1.0.tar.gz", "path separators"),
        ("dir\\foo-1.0.tar.gz", "path separators"),
        ("foo..-1.0.tar.gz", "'..'"),
        ("foo-1.0\x00.tar.gz", "control characters"),
        ("foo-1.0\n.tar.gz", "control characters"),
        ("foo-1.0 .tar.gz", "only ASCII"),
        ("föo-1.0.tar.gz", "only ASCII"),
        ("foo%22-1.0.tar.gz", "only ASCII"),
        (".foo-1.0.tar.gz", "must start"),
        ("f" * 250 + "-1.0.tar.gz", "longer than 255"),
        ("foo-1.0.exe", "Invalid file extension"),
        ("foo-1.0.tar.bz2", "Invalid file extension"),
        ("foo-1.0.egg", "Invalid file extension"),
        ("foo-1.0.TAR.GZ", "Invalid file extension"),
        ("foo-1.0.whl", "Invalid wheel filename"),
        ("foo-notaversion-py3-none-any.whl", "Invalid wheel filename"),
        ("foo.tar.gz", "Invalid sdist filename"),
        ("foo-1.0-py3-none-any.WHL", "Invalid wheel filename"),
    ],
)
def test_refuses(filename: str, reason: str) -> None:
    with pytest.raises(PypiError) as caught:
        parse_filename(filename)
    assert reason in caught.value.message
    assert caught.value.status == 400


def test_files_belong_to_a_project_as_pip_decides() -> None:
    mine = ["foo_bar-1.0-py3-none-any.whl", "Foo.Bar-1.0.tar.gz", "foo-bar-1.0-py2.7.egg"]
    others = ["foo-1.0-py3-none-any.whl", "foo_bar_x-1.0.tar.gz", "foo-bar-x-1.0.tar.gz"]
    others += ["foo-bar.tar.gz", "not a wheel.whl"]
    assert [f for f in mine + others if belongs_to("foo-bar", f)] == mine
