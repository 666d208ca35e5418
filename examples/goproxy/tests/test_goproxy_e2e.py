"""The real go command (Debian's golang-go) against the real server, as the README tells a user.

Module zips are built by the test and uploaded with a PUT; ``go mod download``,
``go list -m -versions``, ``go get`` and ``go build`` then fetch them through
``GOPROXY`` alone (no ``direct``, no checksum database: nothing from the network).
The go command sends no credentials over plain HTTP, so the repository is public.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from artifortress_goproxy.modpath import escape
from goproxy_zips import greeter

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

REPO = "gomods"
MODULES = [
    ("example.com/hello", "v1.0.0", "hello v1.0.0"),
    ("example.com/hello", "v1.1.0", "hello v1.1.0"),
    ("example.com/hello", "v1.2.0-rc.1", "hello v1.2.0-rc.1"),
    ("example.com/hello/v2", "v2.0.0", "hello v2"),
    ("example.com/Mixed/Case", "v0.1.0-Beta", "mixed"),  # escaped as !mixed/!case, -!beta
]
CONSUMER = """package main

import (
\t"fmt"

\t"example.com/hello/greet"
\tgreetv2 "example.com/hello/v2/greet"
)

func main() { fmt.Println(greet.Hello(), "/", greetv2.Hello()) }
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("goproxy") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def zips(server: ServerProcess) -> dict[tuple[str, str], bytes]:
    """Every module of MODULES, uploaded by PUT into a public repository."""
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    repo = {"key": REPO, "format": "go", "public": True}
    made = requests.post(f"{server.base_url}/v1/repos", json=repo, headers=auth, timeout=10)
    assert made.status_code == 201, made.text
    uploaded = {}
    for module, version, greeting in MODULES:
        data = greeter(module, version, greeting)
        url = f"{server.base_url}/go/{REPO}/{escape(module)}/@v/{escape(version)}.zip"
        answer = requests.put(url, data=data, headers=auth, timeout=30)
        assert answer.status_code == 201, answer.text
        uploaded[module, version] = data
    return uploaded


@pytest.fixture
def go_env(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    """The environment a user sets, with a private module cache and build cache."""
    home = tmp_path / "home"
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GOENV": "off",  # no go env file of the machine's user
        "GOPATH": str(home / "go"),
        "GOMODCACHE": str(home / "go" / "pkg" / "mod"),
        "GOCACHE": str(home / "cache"),
        "GOPROXY": f"{server.base_url}/go/{REPO}/",
        "GONOSUMDB": "example.com",  # private modules are not in sum.golang.org
        "GOFLAGS": "-mod=mod -modcacherw",  # a writable cache: tmp_path can be removed
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }


def go(env: dict[str, str], cwd: Path, *args: str) -> str:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["go", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"go {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def h1(files: dict[str, bytes]) -> str:
    """The go command's ``h1:`` hash (golang.org/x/mod/sumdb/dirhash.Hash1) of named files."""
    summary = "".join(
        f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files)
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("module", "version"),
    [("example.com/hello", "v1.0.0"), ("example.com/Mixed/Case", "v0.1.0-Beta")],
)
def test_go_mod_download(zips, go_env, tmp_path, module, version):
    downloaded = json.loads(
        go(go_env, tmp_path / "work", "mod", "download", "-json", f"{module}@{version}")
    )
    data = zips[module, version]
    assert downloaded["Version"] == version
    assert downloaded["Sum"] == h1(zip_files(data)), "go hashed the very files uploaded"
    assert downloaded["GoModSum"] == h1({"go.mod": f"module {module}\n\ngo 1.19\n".encode()})
    assert Path(downloaded["Zip"]).read_bytes() == data


def test_go_list_versions_and_latest(zips, go_env, tmp_path):
    work = tmp_path / "work"
    listed = go(go_env, work, "list", "-m", "-versions", "example.com/hello")
    assert listed.split() == ["example.com/hello", "v1.0.0", "v1.1.0", "v1.2.0-rc.1"]
    latest = json.loads(go(go_env, work, "list", "-m", "-json", "example.com/hello@latest"))
    assert latest["Version"] == "v1.1.0", "the highest release, not the newer pre-release"


def test_go_get_and_build(zips, go_env, tmp_path):
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "go.mod").write_text("module example.com/consumer\n\ngo 1.19\n")
    (consumer / "main.go").write_text(CONSUMER)
    # A package path: go also asks whether example.com/hello/greet is a module, and
    # must take the 404 as "no such module" to settle on example.com/hello.
    go(go_env, consumer, "get", "example.com/hello/greet@v1.0.0", "example.com/hello/v2")
    requirements = (consumer / "go.mod").read_text()
    assert "example.com/hello v1.0.0" in requirements
    assert "example.com/hello/v2 v2.0.0" in requirements, "@latest through the proxy"
    go(go_env, consumer, "build", "-o", "greeter", ".")
    ran = subprocess.run([consumer / "greeter"], capture_output=True, text=True, check=True)
    assert ran.stdout == "hello v1.0.0 / hello v2\n"


def test_modules_are_searchable(server, zips):
    """The core indexes what the plugin publishes (the server's embedded event worker)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = requests.get(f"{server.base_url}/v1/search?q=hello", timeout=10)
        assert found.status_code == 200, found.text
        names = {hit["name"] for hit in found.json()["results"]}
        if names == {"example.com/hello", "example.com/hello/v2"}:
            return
        time.sleep(0.1)
    raise AssertionError(f"never searchable: {names}")
