"""pip, uv and twine against the real server, as a new user following the README would.

Projects are built by the test with ``python -m build`` (hatchling, no network),
uploaded with twine, installed with pip and ``uv pip install`` from the
gateway with the token in the index URL.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

PROJECTS = {
    # name as declared (mixed case, dot, underscore), version, dependencies
    "Foo.Bar_baz": ("1.0", []),
    "dep-child": ("2.0", ["foo-bar-baz>=1.0"]),
}


def _build(root: Path, name: str, version: str, deps: list[str]) -> list[Path]:
    module = name.lower().replace(".", "_").replace("-", "_")
    source = root / "src" / module
    (source / module).mkdir(parents=True)
    (source / module / "__init__.py").write_text(f"NAME = {name!r}\n")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "{version}"
        requires-python = ">=3.8"
        dependencies = {deps!r}

        [tool.hatch.build.targets.wheel]
        packages = ["{module}"]
        """)
    )
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return sorted(out.glob(f"{module}-{version}*"))


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("projects")
    return {name: _build(root, name, v, deps) for name, (v, deps) in PROJECTS.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("pypi") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = created.stdout.strip().splitlines()[-1]
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json={"key": "py", "format": "pypi"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return secret


def _twine(server: ServerProcess, token: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{server.base_url}/pypi/py/legacy/",
            "-u",
            "__token__",
            "-p",
            token,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _index(server: ServerProcess, token: str) -> str:
    return f"http://__token__:{token}@127.0.0.1:{server.port}/pypi/py/simple/"


@pytest.fixture(scope="module")
def uploaded(
    server: ServerProcess, token: str, dists: dict[str, list[Path]]
) -> dict[str, list[Path]]:
    for files in dists.values():
        done = _twine(server, token, *files)
        assert done.returncode == 0, done.stdout + done.stderr
    return dists


def test_pip_installs_with_dependencies(server, token, uploaded, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--index-url",
            _index(server, token),
            "dep-child",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "foo_bar_baz" / "__init__.py").exists()
    assert (target / "dep_child" / "__init__.py").exists()


def test_uv_installs_with_dependencies(server, token, uploaded, tmp_path):
    target = tmp_path / "site"
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "--no-cache",
            "--python",
            sys.executable,
            "--target",
            str(target),
            "--index-url",
            _index(server, token),
            "dep-child",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "foo_bar_baz" / "__init__.py").exists()


def test_pip_downloads_the_sdist(server, token, uploaded, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-cache-dir",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--no-build-isolation",
            "-d",
            str(tmp_path),
            "--index-url",
            _index(server, token),
            "foo.bar-baz==1.0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (sdist,) = tmp_path.glob("*.tar.gz")
    expected = next(p for p in uploaded["Foo.Bar_baz"] if p.name.endswith(".tar.gz"))
    assert sdist.read_bytes() == expected.read_bytes()


def _page(server, token, project: str) -> dict:
    answer = requests.get(
        f"{server.base_url}/pypi/py/simple/{project}/",
        timeout=10,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        auth=("__token__", token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/vnd.pypi.simple.v1+json")
    return dict(answer.json())


def test_hashes_and_pep658_metadata(server, token, uploaded):
    page = _page(server, token, "foo-bar-baz")
    assert page["name"] == "foo-bar-baz"
    assert page["versions"] == ["1.0"]
    files = {f["filename"]: f for f in page["files"]}
    wheel = next(p for p in uploaded["Foo.Bar_baz"] if p.suffix == ".whl")
    entry = files[wheel.name]
    assert entry["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["requires-python"] == ">=3.8"
    base = f"{server.base_url}/pypi/py/simple/foo-bar-baz/"
    metadata = requests.get(
        requests.compat.urljoin(base, entry["url"]) + ".metadata",
        auth=("__token__", token),
        timeout=10,
    )
    with zipfile.ZipFile(io.BytesIO(wheel.read_bytes())) as archive:
        inside = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert metadata.content == archive.read(inside)
    assert entry["core-metadata"]["sha256"] == hashlib.sha256(metadata.content).hexdigest()
    sdist = next(f for name, f in files.items() if name.endswith(".tar.gz"))
    assert "core-metadata" not in sdist or not sdist["core-metadata"]


def test_html_page_and_redirect(server, token, uploaded):
    answer = requests.get(
        f"{server.base_url}/pypi/py/simple/Foo.Bar_baz/",
        auth=("__token__", token),
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 301
    assert answer.headers["Location"].endswith("/pypi/py/simple/foo-bar-baz/")
    html = requests.get(
        f"{server.base_url}/pypi/py/simple/foo-bar-baz/", auth=("__token__", token), timeout=10
    )
    assert html.headers["Content-Type"].startswith("text/html")
    assert 'data-requires-python="&gt;=3.8"' in html.text
    assert "#sha256=" in html.text
    assert 'name="pypi:repository-version"' in html.text
    again = requests.get(
        f"{server.base_url}/pypi/py/simple/foo-bar-baz/",
        auth=("__token__", token),
        timeout=10,
        headers={"If-None-Match": html.headers["ETag"]},
    )
    assert again.status_code == 304


def test_anonymous_gets_401_with_basic_challenge(server, uploaded):
    answer = requests.get(f"{server.base_url}/pypi/py/simple/", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_reupload_identical_ok_and_different_bytes_conflict(server, token, uploaded, tmp_path):
    wheel = next(p for p in uploaded["Foo.Bar_baz"] if p.suffix == ".whl")
    same = _twine(server, token, wheel)
    assert same.returncode == 0, same.stdout + same.stderr
    forged = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("foo_bar_baz/extra.py", b"x = 1\n")
    other = _twine(server, token, forged)
    assert other.returncode != 0
    assert "File already exists" in other.stdout + other.stderr


def test_yank_shows_in_html_and_json(server, token, uploaded):
    headers = {"Authorization": f"Bearer {token}"}
    yanked = requests.post(
        f"{server.base_url}/v1/repos/py/packages/dep-child/versions/2.0/yank",
        json={"reason": "broken"},
        headers=headers,
        timeout=10,
    )
    assert yanked.status_code == 200, yanked.text
    try:
        files = _page(server, token, "dep-child")["files"]
        assert all(f["yanked"] == "broken" for f in files)
        html = requests.get(
            f"{server.base_url}/pypi/py/simple/dep-child/", auth=("__token__", token), timeout=10
        )
        assert 'data-yanked="broken"' in html.text
    finally:
        requests.delete(
            f"{server.base_url}/v1/repos/py/packages/dep-child/versions/2.0/yank",
            headers=headers,
            timeout=10,
        )


def test_json_api(server, token, uploaded):
    answer = requests.get(
        f"{server.base_url}/pypi/py/pypi/foo-bar-baz/json", auth=("__token__", token), timeout=10
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["info"]["version"] == "1.0"
    assert doc["info"]["requires_python"] == ">=3.8"
    assert set(doc["releases"]) == {"1.0"}
    assert all(u["url"].startswith(server.base_url) for u in doc["urls"])
    release = requests.get(
        f"{server.base_url}/pypi/py/pypi/dep-child/2.0/json", auth=("__token__", token), timeout=10
    ).json()
    assert release["info"]["requires_dist"] == ["foo-bar-baz>=1.0"]


def test_uv_publish(server, token, tmp_path):
    files = _build(tmp_path, "uv-published", "0.1", [])
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run(
        [
            str(uv),
            "publish",
            "--publish-url",
            f"{server.base_url}/pypi/py/legacy/",
            "--username",
            "__token__",
            "--password",
            token,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = _page(server, token, "uv-published")
    assert sorted(f["filename"] for f in page["files"]) == sorted(p.name for p in files)


def test_poetry_resolves_and_installs(server, token, uploaded, tmp_path):
    project = tmp_path / "consumer"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [project]
        name = "consumer"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["dep-child>=2.0"]

        [tool.poetry]
        package-mode = false

        [[tool.poetry.source]]
        name = "gateway"
        url = "{server.base_url}/pypi/py/simple/"
        priority = "primary"
        """)
    )
    env = {
        **os.environ,
        "POETRY_HTTP_BASIC_GATEWAY_USERNAME": "__token__",
        "POETRY_HTTP_BASIC_GATEWAY_PASSWORD": token,
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
        "POETRY_NO_INTERACTION": "1",
    }
    poetry = Path(sys.executable).with_name("poetry")
    for args in (["lock"], ["install"]):
        done = subprocess.run(
            [str(poetry), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    lock = (project / "poetry.lock").read_text()
    assert 'name = "foo-bar-baz"' in lock
    assert "sha256:" in lock, "hashes come from the index, not from downloading whole files"
    site = next((project / ".venv" / "lib").glob("python*/site-packages"))
    assert (site / "foo_bar_baz" / "__init__.py").exists()
