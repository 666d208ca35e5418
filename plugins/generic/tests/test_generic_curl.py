"""curl against the real server: a large file in with a checksum, out whole and by range."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifortress.testing.server import ServerProcess
from artifortress.testing.transfer import peak_rss, worker_pids

pytestmark = [pytest.mark.e2e]

MiB = 1024 * 1024
SIZE = 384 * MiB
LIMIT = 64 * MiB


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[Path, str]:
    """A file of SIZE bytes (no two MiB alike) and its sha256."""
    path = tmp_path / "firmware.img"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for n in range(SIZE // MiB):
            block = n.to_bytes(8, "big") * (MiB // 8)
            digest.update(block)
            out.write(block)
    return path, digest.hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_THREADS": "2"}
    with ServerProcess(tmp_path / "home", environ) as running:
        yield running


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("curl")
    assert binary is not None, "curl must be installed"
    return subprocess.run(
        [binary, "-sS", "--fail-with-body", *args], capture_output=True, timeout=300, check=False
    )


def test_curl_upload_download_and_range_in_flat_memory(server, big_file, tmp_path):
    path, sha256 = big_file
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    auth = f"Authorization: Bearer {token}"
    made = curl(
        "-X",
        "POST",
        "-H",
        auth,
        "-d",
        '{"key": "fw", "format": "generic"}',
        f"{server.base_url}/v1/repos",
    )
    assert made.returncode == 0, made.stderr
    assert server.process is not None
    (worker,) = worker_pids(server.process.pid)
    before = peak_rss(worker)
    url = f"{server.base_url}/generic/fw/board/1.0/firmware.img"
    sent = curl("-T", str(path), "-H", auth, "-H", f"X-Checksum-Sha256: {sha256}", url)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    back = tmp_path / "back.img"
    got = curl("-H", auth, "-o", str(back), url)
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(back.read_bytes()).hexdigest() == sha256
    part = curl("-H", auth, "-r", f"{100 * MiB}-{100 * MiB + 15}", url)
    with path.open("rb") as original:
        original.seek(100 * MiB)
        assert part.stdout == original.read(16)
    grown = peak_rss(worker) - before
    assert grown < LIMIT, f"the worker's peak RSS grew by {grown / MiB:.1f} MiB"
    wrong = curl(
        "-T",
        str(path),
        "-H",
        auth,
        "-H",
        "X-Checksum-Sha256: " + "0" * 64,
        f"{server.base_url}/generic/fw/board/2.0/firmware.img",
    )
    assert wrong.returncode != 0
    assert b"mismatch" in wrong.stdout
