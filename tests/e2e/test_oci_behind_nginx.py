"""skopeo through deploy/nginx.conf (with its X-Accel-Redirect hand-off) to the OCI registry.

The token realm, upload locations and digests must survive the front proxy: a push
and a pull by digest come back with the same manifest digest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from plugins.oci.tests.oci_images import layout_digest, write_layout
from tests.support.nginx import shipped_front

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "home", {"ARTIFORTRESS_ACCEL_REDIRECT": "/_accel/"}) as running:
        yield running


@pytest.fixture
def front(server: ServerProcess, tmp_path: Path) -> Iterator[str]:
    with shipped_front(server.home, server.port, tmp_path / "nginx") as url:
        yield url


def test_skopeo_pushes_and_pulls_through_the_front(
    server: ServerProcess, front: str, tmp_path: Path
) -> None:
    skopeo = shutil.which("skopeo")
    assert skopeo is not None, "skopeo must be installed (make test installs it from Debian)"
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    token = created.stdout.strip().splitlines()[-1]
    made = requests.post(
        f"{front}/v1/repos",
        json={"key": "containers", "format": "oci"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    digest = write_layout(tmp_path / "layout", "1.0", layers=3)
    remote = f"docker://{front.removeprefix('http://')}/containers/team/app"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))

    def run(*args: str) -> None:
        done = subprocess.run(
            [skopeo, "--policy", str(policy), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    creds = f"admin:{token}"
    run(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        f"oci:{tmp_path / 'layout'}:1.0",
        f"{remote}:1.0",
    )
    run(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        creds,
        f"{remote}@{digest}",
        f"oci:{tmp_path / 'back'}:1.0",
    )
    assert layout_digest(tmp_path / "back") == digest
