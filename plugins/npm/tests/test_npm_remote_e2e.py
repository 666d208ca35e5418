"""npm and pnpm through a virtual repository of a hosted and a remote one, end to end.

The upstream is a second Artifortress holding the real dependency tree of
express 4, behind a proxy that counts (and can tamper with) what the gateway
asks it. The gateway is ``artifortress serve`` with three npm repositories:
``js`` (hosted), ``npm-up`` (remote, TTL 1 s so that every install
revalidates) and ``all`` (virtual: js, npm-up), the one URL clients know.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from npm_upstream import CountingProxy, express_tree, publish_all

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]
TIMEOUT = 180


def admin_token(server: ServerProcess) -> str:
    made = server.cli("admin", "create-token", "--user", "admin", "--admin")
    return made.stdout.strip().splitlines()[-1]


def create(server: ServerProcess, token: str, **repo: object) -> None:
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json=repo,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text


@dataclass
class Upstream:
    server: ServerProcess
    proxy: CountingProxy
    token: str
    packages: int

    @property
    def registry(self) -> str:
        """The registry URL the gateway's remote points at: through the proxy."""
        return f"{self.proxy.url}/npm/npmjs/"

    def publish(self, name: str, version: str, folder: Path) -> None:
        """One more package in the upstream, published with the npm CLI."""
        npm = Client(folder, f"{self.server.base_url}/npm/npmjs/", self.token)
        npm.run("publish", cwd=npm.project(name, version))


@dataclass
class Client:
    """npm (or pnpm) with its own home, cache and ``.npmrc`` naming one registry."""

    root: Path
    registry: str
    token: str

    def env(self) -> dict[str, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        npmrc = self.root / "npmrc"
        npmrc.write_text(
            f"registry={self.registry}\n"
            f"{self.registry.removeprefix('http:')}:_authToken={self.token}\n"
        )
        (self.root / "home").mkdir(exist_ok=True)
        return {
            **os.environ,
            "HOME": str(self.root / "home"),
            "npm_config_cache": str(self.root / "cache"),
            "npm_config_userconfig": str(npmrc),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_fetch_retries": "0",  # a refusal (the tampered file's 502) fails at once
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
        assert (done.returncode != 0) is fail, f"{tool} {args}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def project(self, name: str, version: str, **dependencies: str) -> Path:
        folder = self.root / f"{name.replace('/', '__')}-{version}"
        folder.mkdir(parents=True)
        manifest = {"name": name, "version": version, "dependencies": dependencies}
        (folder / "package.json").write_text(json.dumps(manifest))
        (folder / "index.js").write_text("module.exports = require('express')\n")
        return folder

    def fresh(self) -> Client:
        """The same registry and token, another home and an empty cache."""
        index = len(list(self.root.parent.glob(f"{self.root.name}-*")))
        return Client(self.root.parent / f"{self.root.name}-{index}", self.registry, self.token)


def app(root: Path, **dependencies: str) -> Path:
    folder = root / "app"
    folder.mkdir(parents=True)
    manifest = {"name": "app", "version": "1.0.0", "private": True, "dependencies": dependencies}
    (folder / "package.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    tarballs = express_tree()
    with ServerProcess(tmp_path_factory.mktemp("npm-upstream") / "home") as server:
        token = admin_token(server)
        create(server, token, key="npmjs", format="npm", public=True)
        count = publish_all(f"{server.base_url}/npm/npmjs", token, tarballs)
        with CountingProxy(server.base_url).running() as proxy:
            yield Upstream(server, proxy, token, count)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[str]:
    home = tmp_path_factory.mktemp("npm-gateway") / "home"
    with ServerProcess(home) as server:
        token = admin_token(server)
        create(server, token, key="js", format="npm")
        create(
            server,
            token,
            key="npm-up",
            format="npm",
            kind="remote",
            upstream={"url": upstream.registry},
            metadata_ttl="1s",
        )
        create(server, token, key="all", format="npm", kind="virtual", members=["js", "npm-up"])
        yield f"{server.base_url}/npm/all/|{token}"


@pytest.fixture(scope="module")
def client(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Client:
    registry, token = gateway.split("|")
    return Client(tmp_path_factory.mktemp("npm-client"), registry, token)


@pytest.fixture(scope="module")
def private_web(client: Client) -> str:
    """``@me/web`` 1.0.0, depending on express 4, published to the virtual (lands in js)."""
    client.run("publish", cwd=client.project("@me/web", "1.0.0", express="^4.0.0"))
    return "@me/web"


def test_npm_installs_public_and_private_packages_from_one_registry(
    client: Client, upstream: Upstream, private_web: str, tmp_path: Path
) -> None:
    assert upstream.packages >= 50, "the real tree of express 4"
    folder = app(tmp_path)
    asked = upstream.proxy.hits["/npm/npmjs/@me/web"]  # before its publish, if npm looked
    client.run("install", private_web, "express@4", cwd=folder)
    assert (folder / "node_modules" / "express" / "package.json").exists()
    assert (folder / "node_modules" / "@me" / "web" / "index.js").exists()
    lock = json.loads((folder / "package-lock.json").read_text())
    installed = {path: entry for path, entry in lock["packages"].items() if path}
    assert len(installed) >= 50
    for path, entry in installed.items():
        assert entry["resolved"].startswith(client.registry), path
    assert upstream.proxy.hits["/npm/npmjs/@me/web"] == asked, "a hosted name never goes upstream"


def test_login_and_whoami_work_against_the_virtual(client: Client, tmp_path: Path) -> None:
    assert client.run("whoami", cwd=tmp_path).strip() == "admin"
    answer = requests.put(
        f"{client.registry}-/user/org.couchdb.user:admin",
        json={"name": "admin", "password": client.token},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["token"].startswith("afpat_")


def test_pnpm_installs_through_the_virtual(
    client: Client, private_web: str, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    outside = Client(tmp_path / "npmjs", "https://registry.npmjs.org/", "unused")
    outside.run("install", "--prefix", str(tools), "pnpm@9", cwd=tmp_path)
    folder = app(tmp_path)
    (folder / ".npmrc").write_text((client.root / "npmrc").read_text())
    pnpm = str(tools / "node_modules" / ".bin" / "pnpm")
    store = str(tmp_path / "store")
    client.run("install", private_web, "--store-dir", store, cwd=folder, tool=pnpm)
    assert (folder / "node_modules" / "@me" / "web" / "index.js").exists()
    assert list((folder / "node_modules" / ".pnpm").glob("express@4.*/node_modules/express"))


def test_a_hosted_name_shadows_a_higher_upstream_version(
    client: Client, upstream: Upstream, tmp_path: Path
) -> None:
    upstream.publish("acme-internal", "9.0.0", tmp_path / "upstream")
    # npm 11 reads the packument first: the virtual shows upstream's 9.0.0 until the name is
    # claimed, so the first publish names its tag (the guard then hides upstream's versions).
    client.run("publish", "--tag", "latest", cwd=client.project("acme-internal", "1.0.0"))
    shown = json.loads(client.run("view", "acme-internal", "versions", "--json", cwd=tmp_path))
    assert shown in ("1.0.0", ["1.0.0"])
    folder = app(tmp_path)
    client.run("install", "acme-internal", cwd=folder)
    installed = json.loads((folder / "node_modules" / "acme-internal" / "package.json").read_text())
    assert installed["version"] == "1.0.0"


def test_a_tampered_upstream_tarball_is_refused(
    client: Client, upstream: Upstream, tmp_path: Path
) -> None:
    upstream.publish("tampered-pkg", "1.0.0", tmp_path / "upstream")
    upstream.proxy.tampered.add("/npm/npmjs/tampered-pkg/-/tampered-pkg-1.0.0.tgz")
    folder = app(tmp_path)
    client.fresh().run("install", "tampered-pkg", cwd=folder, fail=True)  # the bytes end short
    assert not (folder / "node_modules" / "tampered-pkg").exists()
    tarball = f"{client.registry}tampered-pkg/-/tampered-pkg-1.0.0.tgz"
    auth = {"Authorization": f"Bearer {client.token}", "Range": "bytes=0-"}
    refused = requests.get(tarball, headers=auth, timeout=30)  # answered after the fetch
    assert refused.status_code == 502
    assert "tampered-pkg" in refused.json()["error"]


def test_twenty_parallel_gets_of_a_cold_tarball_cause_one_upstream_request(
    client: Client, upstream: Upstream, tmp_path: Path
) -> None:
    upstream.publish("cold-pkg", "1.0.0", tmp_path / "upstream")
    auth = {"Authorization": f"Bearer {client.token}"}
    assert requests.get(f"{client.registry}cold-pkg", headers=auth, timeout=10).ok
    url = f"{client.registry}cold-pkg/-/cold-pkg-1.0.0.tgz"
    start, statuses = threading.Barrier(20), []

    def fetch() -> None:
        start.wait()
        statuses.append(requests.get(url, headers=auth, timeout=60).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert statuses == [200] * 20
    assert upstream.proxy.hits["/npm/npmjs/cold-pkg/-/cold-pkg-1.0.0.tgz"] == 1


def test_the_same_install_succeeds_with_the_upstream_stopped(
    client: Client, upstream: Upstream, private_web: str, tmp_path: Path
) -> None:
    """Last in the module: it stops the upstream."""
    warm = app(tmp_path / "warm")
    client.run("install", private_web, "express@4", cwd=warm)  # everything cached once
    upstream.proxy.stop()  # the registry's address refuses connections
    upstream.server.stop()
    folder = app(tmp_path / "cold")
    client.fresh().run("install", private_web, "express@4", cwd=folder)
    assert (folder / "node_modules" / "express" / "package.json").exists()
    lock = json.loads((folder / "package-lock.json").read_text())
    assert len(lock["packages"]) == len(
        json.loads((warm / "package-lock.json").read_text())["packages"]
    )
