"""twine upload --attestations against the real server: a real distribution, its real attestation.

twine sends the attestation files named ``<dist>.<kind>.attestation`` given
next to the distribution; the server verifies them offline and serves the PEP
740 provenance with the verified publisher. A repository requiring verified
provenance refuses the same distribution without its attestation, and twine
shows why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "attestations"
SDIST = "pypi_attestations-0.0.19.tar.gz"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("attest") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    return created.stdout.strip().splitlines()[-1]


def api(
    server: ServerProcess,
    token: str,
    method: str,
    path: str,
    *,
    json: object = None,
    accept: str = "application/json",
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    url = f"{server.base_url}{path}"
    return requests.request(method, url, headers=headers, json=json, timeout=10)


def twine(
    server: ServerProcess, token: str, repo: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/pypi/{repo}/legacy/", "-u", "__token__",
         "-p", token, *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def staged(tmp_path: Path, *, with_attestation: bool) -> list[str]:
    shutil.copy(DATA / SDIST, tmp_path / SDIST)
    files = [str(tmp_path / SDIST)]
    if with_attestation:
        name = f"{SDIST}.publish.attestation"
        shutil.copy(DATA / name, tmp_path / name)
        files.append(str(tmp_path / name))
    return files


def test_twine_uploads_with_a_verified_attestation(server, token, tmp_path):
    assert api(server, token, "POST", "/v1/repos", json={"key": "py", "format": "pypi"}).ok
    done = twine(server, token, "py", "--attestations", *staged(tmp_path, with_attestation=True))
    assert done.returncode == 0, done.stdout + done.stderr
    simple = "/pypi/py/simple/pypi-attestations/"
    page = api(server, token, "GET", simple, accept="application/vnd.pypi.simple.v1+json")
    assert page.status_code == 200
    provenance_url = page.json()["files"][0]["provenance"]
    provenance_path = urlsplit(urljoin(server.base_url + simple, provenance_url)).path
    provenance = api(server, token, "GET", provenance_path, accept="*/*")
    assert provenance.headers["Content-Type"].startswith("application/vnd.pypi.integrity.v1+json")
    assert provenance.json()["attestation_bundles"][0]["publisher"] == {
        "kind": "GitHub",
        "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml",
        "environment": None,
    }
    version = api(server, token, "GET", "/v1/repos/py/packages/pypi-attestations/versions/0.0.19")
    files = {f["filename"]: f for f in version.json()["artifacts"]}
    assert files[SDIST]["metadata"]["attestation"]["verified"] is True
    server.assert_no_traceback()


def test_a_repository_requiring_provenance_refuses_twine_without_it(server, token, tmp_path):
    assert api(server, token, "POST", "/v1/repos", json={"key": "strict", "format": "pypi"}).ok
    policy = api(
        server, token, "PUT", "/v1/repos/strict/policy", json={"require_verified_provenance": True}
    )
    assert policy.status_code == 200
    refused = twine(server, token, "strict", *staged(tmp_path, with_attestation=False))
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "403" in output
    assert "verified provenance" in output
    assert api(server, token, "GET", "/v1/repos/strict/packages").json()["packages"] == []
    accepted = twine(
        server, token, "strict", "--attestations", *staged(tmp_path, with_attestation=True)
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
