"""The real npm CLI (and pnpm) against the real server: publish, install, tags, unpublish.

A new user's path through the README: a token from the CLI, an npm repository,
the two ``.npmrc`` lines, then the everyday commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from npm_testkit import PROJECTS, sri_of

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]
TIMEOUT = 180


@dataclass
class Client:
    """The npm CLI with an isolated home, cache and ``.npmrc`` holding a real token."""

    root: Path
    registry: str
    token: str

    def env(self) -> dict[str, str]:
        npmrc = self.root / "npmrc"
        npmrc.write_text(
            f"registry={self.registry}\n{self.registry.removeprefix('http:')}:_authToken={self.token}\n"
        )
        return {
            **os.environ,  # keeps the machine's CA settings (NODE_EXTRA_CA_CERTS, ...)
            "HOME": str(self.root / "home"),
            "npm_config_cache": str(self.root / "cache"),
            "npm_config_userconfig": str(npmrc),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "true",
        }

    def run(self, *args: str, cwd: Path, fail: bool = False, tool: str = "npm") -> str:
        exe = shutil.which(tool) if tool == "npm" else tool
        assert exe is not None, f"{tool} must be installed"
        done = subprocess.run(
            [exe, *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        output = f"{tool} {args}:\n{done.stdout}\n{done.stderr}"
        assert (done.returncode != 0) is fail, output
        return done.stdout + done.stderr


def _project(root: Path, name: str) -> Path:
    spec = PROJECTS[name]
    folder = root / name.replace("/", "__")
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps(spec["package"]))
    for filename, text in spec["files"].items():  # type: ignore[union-attr]
        (folder / filename).write_text(text)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("npm") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Client:
    token = (
        server.cli("admin", "create-token", "--user", "admin", "--admin")
        .stdout.strip()
        .splitlines()[-1]
    )
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json={"key": "js", "format": "npm"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    root = tmp_path_factory.mktemp("npm-client")
    (root / "home").mkdir()
    return Client(root, f"{server.base_url}/npm/js/", token)


@pytest.fixture(scope="module")
def published(client: Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("projects")
    folders = {}
    for name, spec in PROJECTS.items():
        folder = _project(root, name)
        client.run("publish", *spec["publish_args"], cwd=folder)  # type: ignore[misc]
        folders[name] = folder
    return folders


def _install_project(root: Path) -> Path:
    app = root / "app"
    app.mkdir()
    (app / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", "private": True})
    )
    return app


def test_install_from_empty_cache_with_lockfile(client, published, tmp_path):
    app = _install_project(tmp_path)
    shutil.rmtree(client.root / "cache", ignore_errors=True)
    client.run("install", "plain-pkg", cwd=app)
    assert (app / "node_modules" / "@acme" / "hello" / "cli.js").exists()
    assert (app / "node_modules" / ".bin" / "hello").exists()
    lock = json.loads((app / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/plain-pkg"]
    assert entry["resolved"] == f"{client.registry}plain-pkg/-/plain-pkg-2.0.0.tgz"
    tarball = requests.get(
        entry["resolved"], headers={"Authorization": f"Bearer {client.token}"}, timeout=10
    )
    assert entry["integrity"] == sri_of(tarball.content)
    scoped = lock["packages"]["node_modules/@acme/hello"]
    assert scoped["resolved"] == f"{client.registry}@acme/hello/-/hello-1.0.0.tgz"


def test_install_does_not_claim_a_clean_audit(client, published, tmp_path):
    """No advisories are known here: npm must not print "found 0 vulnerabilities"."""
    app = _install_project(tmp_path)
    installed = client.run("install", "plain-pkg", cwd=app)  # exit 0: the install succeeds
    assert "added" in installed
    assert "vulnerabilit" not in installed
    assert "audited" not in installed
    audit = client.run("audit", cwd=app, fail=True)
    assert "no security advisories are available from this registry" in audit
    assert "audit endpoint returned an error" in audit


def test_packument_forms_and_revalidation(client, published):
    auth = {"Authorization": f"Bearer {client.token}"}
    full = requests.get(f"{client.registry}@acme%2fhello", headers=auth, timeout=10)
    short = requests.get(
        f"{client.registry}@acme%2Fhello",
        timeout=10,
        headers={**auth, "Accept": "application/vnd.npm.install-v1+json"},
    )
    assert full.status_code == short.status_code == 200
    assert full.headers["ETag"] != short.headers["ETag"]
    assert short.headers["Content-Type"].startswith("application/vnd.npm.install-v1+json")
    assert "Accept" in full.headers["Vary"]
    assert full.json()["dist-tags"]["beta"] == "1.0.0"
    assert set(short.json()) >= {"name", "modified", "dist-tags", "versions"}
    again = requests.get(
        f"{client.registry}@acme/hello",
        timeout=10,
        headers={**auth, "If-None-Match": full.headers["ETag"]},
    )
    assert again.status_code == 304
    since = requests.get(
        f"{client.registry}plain-pkg",
        timeout=10,
        headers={**auth, "If-Modified-Since": full.headers["Last-Modified"]},
    )
    assert since.status_code in (200, 304)


def test_publish_over_existing_version_is_403(client, published):
    out = client.run("publish", cwd=published["plain-pkg"], fail=True)
    assert "cannot publish over the previously published versions" in out


def test_dist_tags_deprecate_and_whoami(client, published, tmp_path):
    client.run("dist-tag", "add", "plain-pkg@2.0.0", "stable", cwd=tmp_path)
    assert "stable: 2.0.0" in client.run("dist-tag", "ls", "plain-pkg", cwd=tmp_path)
    client.run("dist-tag", "rm", "plain-pkg", "stable", cwd=tmp_path)
    assert "stable" not in client.run("dist-tag", "ls", "plain-pkg", cwd=tmp_path)
    client.run("deprecate", "plain-pkg@2.0.0", "use something else", cwd=tmp_path)
    view = json.loads(client.run("view", "plain-pkg@2.0.0", "deprecated", "--json", cwd=tmp_path))
    assert view == "use something else"
    client.run("deprecate", "plain-pkg@2.0.0", "", cwd=tmp_path)
    assert client.run("whoami", cwd=tmp_path).strip() == "admin"


def search(client: Client, term: str, cwd: Path, within: float) -> list[dict[str, object]]:
    """``npm search TERM`` until it finds something, for at most *within* seconds."""
    started = time.monotonic()
    while True:
        found: list[dict[str, object]] = json.loads(
            client.run("search", term, "--json", "--prefer-online", cwd=cwd)
        )
        if found:
            return found
        assert time.monotonic() - started < within, f"npm search {term}: nothing in {within} s"


def test_search_and_ping(client, server, published, tmp_path):
    client.run("ping", cwd=tmp_path)
    # Fed by the event worker `serve` runs, which may still be starting.
    found = search(client, "greeting", tmp_path, within=30)
    assert [hit["name"] for hit in found] == ["@acme/hello"]


def test_search_finds_a_package_right_after_its_publish(client, published, tmp_path):
    """As in the README tour: no worker started by hand, `serve` runs the event worker."""
    search(client, "greeting", tmp_path, within=30)  # the event worker is up
    folder = tmp_path / "fresh"
    folder.mkdir()
    manifest = {"name": "searchable-now", "version": "1.0.0", "description": "just published"}
    (folder / "package.json").write_text(json.dumps(manifest))
    client.run("publish", cwd=folder)
    found = search(client, "searchable-now", tmp_path, within=3)
    assert [hit["name"] for hit in found] == ["searchable-now"]


def test_unpublish_version_never_reused(client, published, tmp_path):
    folder = tmp_path / "temp-pkg"
    folder.mkdir()
    for version in ("1.0.0", "1.1.0"):
        (folder / "package.json").write_text(json.dumps({"name": "temp-pkg", "version": version}))
        client.run("publish", cwd=folder)
    client.run("unpublish", "temp-pkg@1.1.0", "--force", cwd=tmp_path)
    versions = json.loads(client.run("view", "temp-pkg", "versions", "--json", cwd=tmp_path))
    assert versions in (["1.0.0"], "1.0.0")
    refused = client.run("publish", cwd=folder, fail=True)
    assert "cannot publish over" in refused
    client.run("unpublish", "temp-pkg", "--force", cwd=tmp_path)
    client.run("view", "temp-pkg", cwd=tmp_path, fail=True)


def test_login_with_token_as_password(client, server):
    answer = requests.put(
        f"{client.registry}-/user/org.couchdb.user:admin",
        json={"name": "admin", "password": client.token},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    new = answer.json()["token"]
    assert new.startswith("afpat_")
    assert new != client.token
    who = requests.get(
        f"{client.registry}-/whoami", headers={"Authorization": f"Bearer {new}"}, timeout=10
    )
    assert who.json() == {"username": "admin"}
    wrong = requests.put(
        f"{client.registry}-/user/org.couchdb.user:admin",
        json={"name": "admin", "password": "nope"},
        timeout=10,
    )
    assert wrong.status_code == 401


def test_private_registry_refuses_anonymous(client, published):
    answer = requests.get(f"{client.registry}plain-pkg", timeout=10)
    assert answer.status_code == 401
    assert "error" in answer.json()


def test_pnpm_installs(client, published, tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    client.run(
        "install",
        "--prefix",
        str(tools),
        "--registry",
        "https://registry.npmjs.org/",
        "pnpm@9",
        cwd=tmp_path,
    )
    pnpm = str(tools / "node_modules" / ".bin" / "pnpm")
    app = _install_project(tmp_path)
    (app / ".npmrc").write_text((client.root / "npmrc").read_text())
    client.run("install", "plain-pkg", "--store-dir", str(tmp_path / "store"), cwd=app, tool=pnpm)
    assert (app / "node_modules" / "plain-pkg" / "index.js").exists()
