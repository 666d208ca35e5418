"""buildah, skopeo and podman (Debian's) against the real server: push, pull, compare digests.

buildah builds small images from scratch (vfs storage in the test's folder, as
root: this sandbox has no rootless setup to speak of), pushes them with
``--tls-verify=false`` to 127.0.0.1, and skopeo copies them back into an OCI
layout, from which the digests are read and compared. Both authenticate with a
personal access token as the password, after the registry's 401.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from oci_images import write_layout

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

REPO = "containers"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    assert path is not None, f"{tool} must be installed (make test installs it from Debian)"
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("oci") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = created.stdout.strip().splitlines()[-1]
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json={"key": REPO, "format": "oci"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return secret


class Tools:
    """buildah and skopeo with the test's own storage, policy and registry host."""

    def __init__(self, tmp: Path, server: ServerProcess, token: str) -> None:
        self.tmp = tmp
        self.host = server.base_url.removeprefix("http://")
        self.creds = f"admin:{token}"
        self.policy = tmp / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.cleanup: list[str] = []
        self.storage = [
            f"--root={tmp / 'storage'}",
            f"--runroot={tmp / 'run'}",
            "--storage-driver=vfs",
        ]

    def run(self, *argv: str) -> str:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=300, check=False, cwd=self.tmp
        )
        assert done.returncode == 0, f"{argv[:3]}: {done.stdout}\n{done.stderr}"
        return done.stdout.strip()

    def buildah(self, *args: str) -> str:
        return self.run(_need("buildah"), *self.storage, *args)

    def skopeo(self, *args: str) -> str:
        return self.run(_need("skopeo"), "--policy", str(self.policy), *args)

    def podman(self, *args: str) -> str:
        return self.run(*self.podman_command(), *args)

    def podman_command(self) -> list[str]:
        if not self.cleanup:  # podman refuses a run root over 50 characters, as pytest's are
            self.cleanup.append(tempfile.mkdtemp(prefix="afpod-"))
        return [
            _need("podman"),
            f"--root={self.tmp / 'storage'}",
            f"--runroot={self.cleanup[0]}",
            "--storage-driver=vfs",
            "--cgroup-manager=cgroupfs",
            "--events-backend=none",
        ]

    def ref(self, image: str) -> str:
        return f"docker://{self.host}/{REPO}/{image}"

    def image(self, name: str, layers: int) -> str:
        """A scratch image of *layers* layers (one commit each), named *name* locally."""
        base = "scratch"
        for n in range(layers):
            container = self.buildah("from", base)
            payload = self.tmp / f"{name}-{n}.txt"
            payload.write_text(f"layer {n} of {name}\n" * (n + 1))
            self.buildah("copy", container, str(payload), f"/data/{n}.txt")
            self.buildah("config", "--label", f"layer{n}=yes", container)
            self.buildah("commit", "--rm", container, f"localhost/{name}:latest")
            base = f"localhost/{name}:latest"
        return base


@pytest.fixture
def tools(tmp_path: Path, server: ServerProcess, token: str) -> Iterator[Tools]:
    made = Tools(tmp_path, server, token)
    yield made
    for folder in made.cleanup:
        shutil.rmtree(folder, ignore_errors=True)


def _layout_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text())
    return str(index["manifests"][0]["digest"])


def test_buildah_pushes_and_skopeo_pulls_back_the_same_image(tools: Tools) -> None:
    local = tools.image("app", layers=3)
    digest_file = tools.tmp / "pushed.digest"
    tools.buildah(
        "push",
        "--tls-verify=false",
        "--creds",
        tools.creds,
        "--format",
        "oci",
        "--digestfile",
        str(digest_file),
        local,
        tools.ref("team/app:1.0"),
    )
    pushed = digest_file.read_text().strip()
    raw = tools.skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        tools.creds,
        tools.ref("team/app:1.0"),
    )
    assert len(json.loads(raw)["layers"]) == 3
    layout = tools.tmp / "layout"
    tools.skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        tools.creds,
        tools.ref("team/app:1.0"),
        f"oci:{layout}:1.0",
    )
    assert _layout_digest(layout) == pushed
    listed = tools.skopeo(
        "list-tags", "--tls-verify=false", "--creds", tools.creds, tools.ref("team/app")
    )
    assert json.loads(listed)["Tags"] == ["1.0"]


def test_skopeo_copies_a_layout_in_and_out_by_digest(tools: Tools) -> None:
    local = tools.image("tool", layers=2)
    source = tools.tmp / "source"
    tools.buildah("push", local, f"oci:{source}:1.0")
    tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        tools.creds,
        f"oci:{source}:1.0",
        tools.ref("tool:2.0"),
    )
    digest = _layout_digest(source)
    back = tools.tmp / "back"
    tools.skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        tools.creds,
        tools.ref(f"tool@{digest}"),
        f"oci:{back}:copy",
    )
    assert _layout_digest(back) == digest
    blobs = sorted(p.name for p in (back / "blobs" / "sha256").iterdir())
    assert blobs == sorted(p.name for p in (source / "blobs" / "sha256").iterdir())


def test_a_multi_arch_index_goes_up_and_comes_back(tools: Tools) -> None:
    amd, arm = tools.image("amd", layers=1), tools.image("arm", layers=1)
    tools.buildah("manifest", "create", "localhost/multi:latest")
    tools.buildah("manifest", "add", "--arch", "amd64", "localhost/multi:latest", amd)
    tools.buildah("manifest", "add", "--arch", "arm64", "localhost/multi:latest", arm)
    tools.buildah(
        "manifest",
        "push",
        "--all",
        "--tls-verify=false",
        "--creds",
        tools.creds,
        "--format",
        "oci",
        "localhost/multi:latest",
        tools.ref("multi:1.0"),
    )
    raw = json.loads(
        tools.skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            tools.creds,
            tools.ref("multi:1.0"),
        )
    )
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(m["platform"]["architecture"] for m in raw["manifests"]) == ["amd64", "arm64"]
    back = tools.tmp / "multi"
    tools.skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--src-creds",
        tools.creds,
        tools.ref("multi:1.0"),
        f"oci:{back}:1.0",
    )
    index = json.loads((back / "index.json").read_text())
    nested = back / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    assert len(json.loads(nested.read_text())["manifests"]) == 2


def test_podman_logs_in_pulls_and_inspects_without_running(tools: Tools) -> None:
    digest = write_layout(tools.tmp / "layout", "1.0")
    tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        tools.creds,
        f"oci:{tools.tmp / 'layout'}:1.0",
        tools.ref("team/web:1.0"),
    )
    image = f"{tools.host}/{REPO}/team/web:1.0"
    authfile = ["--authfile", str(tools.tmp / "auth.json")]  # not the machine's own
    user, token = tools.creds.split(":", 1)
    tools.podman("login", "--tls-verify=false", *authfile, "-u", user, "-p", token, tools.host)
    tools.podman("pull", "--tls-verify=false", *authfile, image)
    assert tools.podman("image", "inspect", "--format", "{{.Digest}}", image) == digest
    wrong = subprocess.run(
        [
            _need("podman"),
            *tools.storage,
            "login",
            "--tls-verify=false",
            *authfile,
            "-u",
            user,
            "-p",
            "afpat_" + "a" * 12 + "_" + "b" * 52,
            tools.host,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode != 0


def test_skopeo_without_credentials_is_refused(tools: Tools) -> None:
    done = subprocess.run(
        [
            _need("skopeo"),
            "--policy",
            str(tools.policy),
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--no-creds",
            tools.ref("team/app:1.0"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "unauthorized" in done.stderr.lower() or "401" in done.stderr
