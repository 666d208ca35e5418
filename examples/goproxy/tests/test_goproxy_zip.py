"""Module zip validation: the prefix, file names, go.mod and the go command's size limits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from artifortress_goproxy import modzip
from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.semver import parse
from goproxy_zips import greeter, module_zip

MODULE = "example.com/hello"


def checked(tmp_path: Path, data: bytes, module: str = MODULE, version: str = "v1.0.0") -> bytes:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    return modzip.go_mod_of(path, module, parse(version))


def refusal(tmp_path: Path, data: bytes, version: str = "v1.0.0") -> GoProxyError:
    with pytest.raises(GoProxyError) as refused:
        checked(tmp_path, data, version=version)
    return refused.value


def test_a_module_zip_gives_its_go_mod(tmp_path):
    assert checked(tmp_path, greeter(MODULE, "v1.0.0")) == b"module example.com/hello\n\ngo 1.19\n"


def test_v2_module(tmp_path):
    go_mod = checked(tmp_path, greeter(f"{MODULE}/v2", "v2.0.0"), f"{MODULE}/v2", "v2.0.0")
    assert go_mod.startswith(b"module example.com/hello/v2\n")


@pytest.mark.parametrize(
    "go_mod",
    [
        'module "example.com/hello"\n',
        "// the greeter\nmodule example.com/hello // v1\n\nrequire example.com/other v1.0.0\n",
        "module `example.com/hello`\n",
    ],
)
def test_module_directive_spellings(tmp_path, go_mod):
    assert checked(tmp_path, module_zip(MODULE, "v1.0.0", {"go.mod": go_mod})) == go_mod.encode()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"go.mod": "module example.com/other\n"}, "go.mod declares module 'example.com/other'"),
        ({"go.mod": "go 1.19\n"}, "go.mod has no module directive"),
        ({"hello.go": "package hello\n"}, "the module zip has no go.mod at its root"),
        (
            {"go.mod": f"module {MODULE}\n", "sub/go.mod": "module example.com/hello/sub\n"},
            "'sub/go.mod': the only go.mod of a module zip is go.mod at its root",
        ),
        (
            {"go.mod": f"module {MODULE}\n", "A.go": "", "a.go": ""},
            "the module zip holds 'a.go' twice (ignoring case)",
        ),
        ({"go.mod": f"module {MODULE}\n", "x/../../evil": ""}, "its path is not clean"),
        ({"go.mod": f"module {MODULE}\n", "x/con.go": ""}, "is not portable"),
        ({"go.mod": f"module {MODULE}\n", "a\\b.go": ""}, "a character is not allowed"),
    ],
)
def test_refused_contents(tmp_path, files, message):
    assert message in refusal(tmp_path, module_zip(MODULE, "v1.0.0", files)).message


@pytest.mark.parametrize(
    ("module", "version"), [("example.com/other", "v1.0.0"), (MODULE, "v1.0.1"), (MODULE, "")]
)
def test_every_file_is_under_the_module_and_version(tmp_path, module, version):
    data = module_zip(module, version, {"go.mod": f"module {MODULE}\n"})
    assert "is not under example.com/hello@v1.0.0/" in refusal(tmp_path, data).message


def test_not_a_zip(tmp_path):
    assert "not a valid zip file" in refusal(tmp_path, b"PK\x03\x04 not really").message


def test_go_mod_size_limit(tmp_path):
    go_mod = f"module {MODULE}\n" + "\n" * modzip.MAX_GO_MOD
    refused = refusal(tmp_path, module_zip(MODULE, "v1.0.0", {"go.mod": go_mod}))
    assert (refused.status, refused.message) == (413, "go.mod is larger than 16 MiB")


def test_license_size_limit(tmp_path):
    files = {"go.mod": f"module {MODULE}\n", "LICENSE": " " * (modzip.MAX_LICENSE + 1)}
    refused = refusal(tmp_path, module_zip(MODULE, "v1.0.0", files))
    assert (refused.status, refused.message) == (413, "LICENSE is larger than 16 MiB")


def test_total_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(modzip, "MAX_ZIP", 1000)
    files = {"go.mod": f"module {MODULE}\n", "a.go": " " * 600, "b.go": " " * 600}
    refused = refusal(tmp_path, module_zip(MODULE, "v1.0.0", files))
    assert refused.status == 413
    assert "add up to more than" in refused.message


def test_directories_are_allowed(tmp_path):
    data = greeter(MODULE, "v1.0.0")
    path = tmp_path / "with-dirs.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path, "a") as archive:
        archive.mkdir(f"{MODULE}@v1.0.0/empty")
    assert modzip.go_mod_of(path, MODULE, parse("v1.0.0")).startswith(b"module ")


def test_incompatible_versions_have_no_go_mod(tmp_path):
    legacy = module_zip(MODULE, "v2.0.0+incompatible", {"hello.go": "package hello\n"})
    go_mod = checked(tmp_path, legacy, version="v2.0.0+incompatible")
    assert go_mod == b"module example.com/hello\n", "the one line the go command synthesizes"
    modern = greeter(MODULE, "v2.0.0+incompatible")
    assert "needs the /v2 path suffix" in refusal(tmp_path, modern, "v2.0.0+incompatible").message
