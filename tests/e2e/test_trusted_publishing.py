"""Trusted publishing end to end: a simulated CI job publishes with twine and npm, no secret.

The test IdP (a real oidc-provider on loopback) plays GitHub Actions: its account carries
GitHub-shaped claims and its client ``artifortress`` is the audience. The CI job does what
``pypa/gh-action-pypi-publish`` does (oidc-exchange.py): from the upload URL's host it asks
``/_/oidc/audience``, gets an ID token for that audience, trades it at
``/_/oidc/mint-token`` and runs ``twine upload -u __token__``; the npm job trades its token
at ``/v1/oidc/token`` and writes it as ``_authToken`` in ``.npmrc``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from artifortress.testing.server import ServerProcess
from tests.support.oidc_idp import Client, LocalIdP, id_token_for, local_idp

pytestmark = [pytest.mark.e2e]

TOKEN_TTL = 12  # seconds: short, to watch a minted token expire
CI = "repo:octo/app:environment:release"
FORK = "repo:octo/fork:environment:release"


def github_claims(repository: str) -> dict[str, str]:
    workflow_ref = f"{repository}/.github/workflows/release.yml@refs/tags/v1.0"
    return {
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "workflow_ref": workflow_ref,
        "job_workflow_ref": workflow_ref,
        "ref": "refs/tags/v1.0",
        "environment": "release",
        "event_name": "push",
        "run_id": "7",
    }


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdP]:
    accounts = {CI: github_claims("octo/app"), FORK: github_claims("octo/fork")}
    clients = [Client("artifortress", "unused-secret", ["http://127.0.0.1:9/cb"])]
    with local_idp(clients, accounts) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    environ = {"ARTIFORTRESS_TRUSTED_PUBLISHING_TOKEN_TTL": f"{TOKEN_TTL}s"}
    with ServerProcess(tmp_path_factory.mktemp("tp") / "home", environ) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: ServerProcess, idp: LocalIdP) -> dict[str, str]:
    """An admin's headers, with the repositories and publishers the jobs publish to."""
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    for key, format in [("py", "pypi"), ("other", "pypi"), ("js", "npm")]:
        made = requests.post(
            f"{server.base_url}/v1/repos", json={"key": key, "format": format}, headers=headers
        )
        assert made.status_code == 201, made.text
    for key in ("py", "js"):
        register(server, headers, key, idp)
    return headers


def register(server: ServerProcess, admin: dict[str, str], key: str, idp: LocalIdP) -> int:
    publisher = {
        "kind": "github",
        "issuer": idp.issuer,  # GitHub's by default; here the test IdP plays GitHub
        "repository": "octo/app",
        "workflow": "release.yml",
        "environment": "release",
    }
    url = f"{server.base_url}/v1/repos/{key}/trusted-publishers"
    made = requests.post(url, json=publisher, headers=admin)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def ci_exchange(upload_url: str, idp: LocalIdP, account: str = CI) -> requests.Response:
    """What the publish action does before twine: audience, ID token, mint-token."""
    parts = urlsplit(upload_url)
    root = f"{parts.scheme}://{parts.netloc}"  # the action: https://{netloc}
    audience = requests.get(f"{root}/_/oidc/audience", timeout=10)
    assert audience.status_code == 200, audience.text
    id_token = id_token_for(idp, account, audience.json()["audience"])
    return requests.post(f"{root}/_/oidc/mint-token", json={"token": id_token}, timeout=10)


def minted_token(upload_url: str, idp: LocalIdP) -> str:
    answer = ci_exchange(upload_url, idp)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Two versions of one project, built without network (hatchling, no isolation)."""
    root = tmp_path_factory.mktemp("projects")
    return {version: build(root, "tp-app", version) for version in ("1.0", "1.1", "1.2", "1.3")}


def build(root: Path, name: str, version: str) -> list[Path]:
    source = root / f"src-{version}"
    (source / "tp_app").mkdir(parents=True)
    (source / "tp_app" / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "{version}"

        [tool.hatch.build.targets.wheel]
        packages = ["tp_app"]
        """)
    )
    out = root / f"dist-{version}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--wheel",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return sorted(out.glob("*.whl"))


def twine(upload_url: str, token: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "twine", "upload", "--non-interactive",
            "--disable-progress-bar", "--repository-url", upload_url,
            "-u", "__token__", "-p", token, *map(str, files),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def audit(server: ServerProcess, admin: dict[str, str], **query: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{server.base_url}/v1/audit", params=query, headers=admin, timeout=10)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def test_a_ci_job_uploads_with_twine_and_no_stored_secret(
    server: ServerProcess, admin: dict[str, str], idp: LocalIdP, dists: dict[str, list[Path]]
) -> None:
    upload_url = f"{server.base_url}/pypi/py/legacy/"
    token = minted_token(upload_url, idp)
    done = twine(upload_url, token, dists["1.0"])
    assert done.returncode == 0, done.stdout + done.stderr
    index = requests.get(f"{server.base_url}/pypi/py/simple/tp-app/", headers=admin, timeout=10)
    assert ">tp_app-1.0-" in index.text
    elsewhere = twine(f"{server.base_url}/pypi/other/legacy/", token, dists["1.1"])
    assert elsewhere.returncode != 0
    assert "403" in elsewhere.stdout + elsewhere.stderr
    [exchanged] = audit(server, admin, action="publisher.exchange", outcome="success")
    assert exchanged["repo"] == "py"
    assert exchanged["details"]["claims"]["job_workflow_ref"].startswith("octo/app/")
    uploaded = audit(server, admin, repo="py", actor=exchanged["actor"])
    assert any(entry["action"] != "publisher.exchange" for entry in uploaded)


def test_a_replayed_or_foreign_id_token_is_refused(
    server: ServerProcess, admin: dict[str, str], idp: LocalIdP
) -> None:
    root = server.base_url
    id_token = id_token_for(idp, CI, "artifortress")
    first = requests.post(f"{root}/_/oidc/mint-token", json={"token": id_token}, timeout=10)
    assert first.status_code == 200, first.text
    again = requests.post(f"{root}/_/oidc/mint-token", json={"token": id_token}, timeout=10)
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "invalid-token"
    fork = ci_exchange(f"{root}/pypi/py/legacy/", idp, FORK)
    assert fork.status_code == 422
    [error] = fork.json()["errors"]
    assert error["code"] == "invalid-publisher"
    assert "'repository'" in error["description"]
    assert "'octo/fork'" in error["description"]


def test_npm_publishes_with_an_exchanged_token(
    server: ServerProcess, admin: dict[str, str], idp: LocalIdP, tmp_path: Path
) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm must be installed"
    exchanged = requests.post(
        f"{server.base_url}/v1/oidc/token",
        json={"repository": "js", "token": id_token_for(idp, CI, "artifortress")},
        timeout=10,
    )
    assert exchanged.status_code == 200, exchanged.text
    registry = f"{server.base_url}/npm/js/"
    npmrc = tmp_path / "npmrc"
    token = exchanged.json()["token"]
    npmrc.write_text(f"registry={registry}\n{registry.removeprefix('http:')}:_authToken={token}\n")
    package = tmp_path / "pkg"
    package.mkdir()
    manifest = {"name": "tp-js", "version": "1.0.0", "main": "index.js"}
    (package / "package.json").write_text(json.dumps(manifest))
    (package / "index.js").write_text("module.exports = 1;\n")
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "npm_config_cache": str(tmp_path / "cache"),
        "npm_config_userconfig": str(npmrc),
        "npm_config_update_notifier": "false",
    }
    done = subprocess.run(
        [npm, "publish"], cwd=package, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    packument = requests.get(f"{registry}tp-js", headers=admin, timeout=10)
    assert packument.json()["versions"]["1.0.0"]["name"] == "tp-js"


def test_the_minted_token_expires(
    server: ServerProcess, admin: dict[str, str], idp: LocalIdP, dists: dict[str, list[Path]]
) -> None:
    upload_url = f"{server.base_url}/pypi/py/legacy/"
    token = minted_token(upload_url, idp)
    time.sleep(TOKEN_TTL + 1)
    late = twine(upload_url, token, dists["1.2"])
    assert late.returncode != 0
    assert "401" in late.stdout + late.stderr or "403" in late.stdout + late.stderr


def test_deleting_the_publisher_kills_its_tokens(
    server: ServerProcess, admin: dict[str, str], idp: LocalIdP, dists: dict[str, list[Path]]
) -> None:
    publisher = register(server, admin, "other", idp)
    upload_url = f"{server.base_url}/pypi/other/legacy/"
    answer = requests.post(
        f"{server.base_url}/v1/oidc/token",
        json={"repository": "other", "token": id_token_for(idp, CI, "artifortress")},
        timeout=10,
    )
    token = answer.json()["token"]
    url = f"{server.base_url}/v1/repos/other/trusted-publishers/{publisher}"
    assert requests.delete(url, headers=admin, timeout=10).status_code == 200
    time.sleep(1.5)  # the token cache's bound on the other worker processes
    refused = twine(upload_url, token, dists["1.3"])
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr
