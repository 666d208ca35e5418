"""Bad uploads through the HTTP API: refused with a reason, and nothing is stored."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from urllib3 import encode_multipart_formdata

from artifortress.testing.bombs import tar_gz_bomb
from plugins.pypi.tests.pypi_dists import make_sdist, make_wheel, metadata_text

URL = "/pypi/py/legacy/"


@pytest.fixture
def repo(make_repo):
    make_repo("py", format="pypi")


def form(data: bytes, filename: str, **overrides: str) -> tuple[bytes, str]:
    fields: dict[str, object] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "Foo.Bar_baz",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        **overrides,
        "content": (filename, data, "application/octet-stream"),
    }
    return encode_multipart_formdata(fields)


def post(api, body: bytes, content_type: str):
    return api.client.simulate_request(
        "POST", URL, headers=api.headers({"Content-Type": content_type}), body=body
    )


def assert_nothing_stored(admin, services):
    assert admin.get("/v1/repos/py/packages").json["packages"] == []


def wheel_bytes(tmp_path: Path, **kwargs) -> bytes:
    return make_wheel(tmp_path, **kwargs).read_bytes()


def test_good_upload_is_published(admin, repo, tmp_path):
    data = wheel_bytes(tmp_path)
    answer = post(admin, *form(data, "foo_bar_baz-1.0-py3-none-any.whl"))
    assert answer.status_code == 200, answer.text
    files = admin.get("/v1/repos/py/packages/foo-bar-baz/versions/1.0").json["artifacts"]
    assert {f["filename"] for f in files} == {
        "foo_bar_baz-1.0-py3-none-any.whl",
        "foo_bar_baz-1.0-py3-none-any.whl.metadata",
    }


def test_wrong_digest(admin, repo, services, tmp_path):
    data = wheel_bytes(tmp_path)
    answer = post(admin, *form(data, "foo_bar_baz-1.0-py3-none-any.whl", sha256_digest="0" * 64))
    assert answer.status_code == 400
    assert "digest" in answer.status.lower()
    assert_nothing_stored(admin, services)


def test_filename_not_matching_metadata(admin, repo, services, tmp_path):
    data = wheel_bytes(tmp_path, metadata=metadata_text(version="2.0").encode())
    answer = post(admin, *form(data, "foo_bar_baz-1.0-py3-none-any.whl"))
    assert answer.status_code == 400
    assert answer.json["message"]
    assert_nothing_stored(admin, services)


def test_corrupt_zip(admin, repo, services):
    data = b"PK\x03\x04 this is not a zip"
    answer = post(admin, *form(data, "foo_bar_baz-1.0-py3-none-any.whl"))
    assert answer.status_code == 400
    assert_nothing_stored(admin, services)


@pytest.mark.parametrize("filename", ["../foo_bar_baz-1.0-py3-none-any.whl", "a/b.whl", "x\\y.whl"])
def test_path_traversal_in_filename(admin, repo, services, tmp_path, filename):
    data = wheel_bytes(tmp_path)
    answer = post(admin, *form(data, filename))
    assert answer.status_code == 400
    assert_nothing_stored(admin, services)


def test_oversize_is_413(admin, repo, services):
    object.__setattr__(services.settings, "max_package_upload", 1024 * 1024)
    client = admin.client
    body, content_type = form(b"x" * (2 * 1024 * 1024), "foo_bar_baz-1.0-py3-none-any.whl")
    answer = client.simulate_request(
        "POST", URL, headers=admin.headers({"Content-Type": content_type}), body=body
    )
    assert answer.status_code == 413
    assert_nothing_stored(admin, services)


def test_reader_cannot_upload(admin, api_factory, repo, tmp_path):
    admin.post("/v1/users", {"name": "reader"})
    admin.put("/v1/repos/py/bindings/reader", {"roles": ["read"]})
    reader = api_factory.as_user("reader")
    data = wheel_bytes(tmp_path)
    assert post(reader, *form(data, "foo_bar_baz-1.0-py3-none-any.whl")).status_code == 403


def test_second_sdist_per_release_is_refused(admin, repo, tmp_path):
    first = make_sdist(tmp_path).read_bytes()
    ok = post(admin, *form(first, "foo_bar_baz-1.0.tar.gz", filetype="sdist"))
    assert ok.status_code == 200, ok.text
    second = make_sdist(tmp_path, filename="foo_bar_baz-1.0.zip").read_bytes()
    refused = post(admin, *form(second, "foo_bar_baz-1.0.zip", filetype="sdist"))
    assert refused.status_code == 400
    assert "sdist" in refused.json["message"]


def test_an_sdist_committed_by_a_concurrent_upload_is_a_reupload(
    admin, repo, tmp_path, monkeypatch
):
    """The race of identical uploads: the first check ran before the winner committed."""
    from artifortress_pypi import upload

    sdist = make_sdist(tmp_path).read_bytes()
    body = form(sdist, "foo_bar_baz-1.0.tar.gz", filetype="sdist")
    assert post(admin, *body).status_code == 200  # the winner
    checks = []
    real = upload._is_identical_reupload

    def not_yet_committed(*args):
        checks.append(args)
        return False if len(checks) == 1 else real(*args)

    monkeypatch.setattr(upload, "_is_identical_reupload", not_yet_committed)
    again = post(admin, *body)
    assert again.status_code == 200, again.text
    assert len(checks) == 2  # decided at the append's conflict, as the same bytes


def test_wheel_with_traversal_member_is_refused(admin, repo, services, tmp_path):
    data = wheel_bytes(tmp_path, extra_members={"../../evil.py": b"x"})
    answer = post(admin, *form(data, "foo_bar_baz-1.0-py3-none-any.whl"))
    assert answer.status_code == 400
    assert_nothing_stored(admin, services)
    assert zipfile.is_zipfile(io.BytesIO(data)), "the refusal is about the member, not the zip"


def test_gzip_bomb_sdist_is_refused_quickly_with_a_reason_twine_shows(admin, repo, services):
    """A GiB of zeros before PKG-INFO in a 1 MB sdist: 400 at once, not minutes of a thread."""
    pkg_info = {"foo_bar_baz-1.0/PKG-INFO": metadata_text().encode()}
    bomb = tar_gz_bomb(1024 * 1024 * 1024, pkg_info, zeros_name="foo_bar_baz-1.0/zeros.bin")
    started = time.monotonic()
    answer = post(admin, *form(bomb, "foo_bar_baz-1.0.tar.gz", filetype="sdist"))
    assert time.monotonic() - started < 10
    assert answer.status == (
        "400 Invalid distribution file: foo_bar_baz-1.0.tar.gz unpacks to more than 64 MiB "
        "(the limit is 32 times its size, at least 64 MiB)."
    )
    assert_nothing_stored(admin, services)


def build_sdist(directory: Path, backend: str, requires: str, version: str) -> Path:
    """The sdist ``python -m build`` makes of a small project with some compressible data."""
    source = directory / "src"
    (source / "foo_bar_baz").mkdir(parents=True)
    for number in range(50):
        (source / "foo_bar_baz" / f"m{number}.py").write_text(f"VALUE = {number}\n" * 200)
    (source / "foo_bar_baz" / "table.csv").write_text("name,value\n" + "row,1\n" * 400_000)
    (source / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["{requires}"]\nbuild-backend = "{backend}"\n'
        f'[project]\nname = "Foo.Bar_baz"\nversion = "{version}"\n'
    )
    out = directory / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out),
         str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.iterdir()
    return built


@pytest.mark.parametrize(
    ("backend", "requires", "version"),
    [("setuptools.build_meta", "setuptools", "1.0"), ("hatchling.build", "hatchling", "2.0")],
)
def test_real_sdists_still_pass(admin, repo, tmp_path, backend, requires, version):
    """What setuptools (PKG-INFO early) and hatchling (PKG-INFO last) write is read in budget."""
    built = build_sdist(tmp_path, backend, requires, version)
    answer = post(admin, *form(built.read_bytes(), built.name, filetype="sdist", version=version))
    assert answer.status_code == 200, answer.status


def test_an_identical_reupload_heals_a_lost_file(admin, repo, services, tmp_path):
    """twine re-sending a file whose stored bytes were lost stores them again."""
    data = wheel_bytes(tmp_path)
    body = form(data, "foo_bar_baz-1.0-py3-none-any.whl")
    assert post(admin, *body).status_code == 200
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    services.blobs.delete(digest)  # the object is lost below Artifortress
    url = "/pypi/py/files/foo-bar-baz/1.0/foo_bar_baz-1.0-py3-none-any.whl"
    assert admin.get(url).status_code == 404
    again = post(admin, *body)
    assert again.status_code == 200, again.text  # as a retry
    assert services.blobs.size_of(digest) == len(data)
    fetched = admin.get(url)
    assert (fetched.status_code, fetched.content) == (200, data)
