"""A remote file streamed by the real server (gunicorn) while clients leave or the upstream dies.

The request that fetches a cold file gets its bytes as they arrive; whatever
happens to that client or to the upstream, the next client gets the whole
file or an error, never part of it as if it were whole.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from tests.support.upstream import Upstream

pytestmark = [pytest.mark.e2e]

DATA = bytes(range(256)) * 40_000  # 10 MB


def _remote(server: ServerProcess, upstream: Upstream) -> dict[str, str]:
    """A generic remote 'up' of *upstream* on the running *server*; an admin's header."""
    remote = ["--format", "generic", "--kind", "remote", "--upstream", upstream.url]
    server.cli("repo", "create", "up", *remote)
    token = server.cli("admin", "create-token", "--user", "ci", "--admin").stdout.split()[-1]
    return {"Authorization": f"Bearer {token}"}


def test_a_client_leaving_mid_stream_leaves_the_whole_file_kept(tmp_path: Path) -> None:
    upstream = Upstream()
    upstream.serve("/tool/1.0/big.bin", DATA, stall_mid_body=1.0)
    with upstream.running(), ServerProcess(tmp_path / "home") as server:
        auth = _remote(server, upstream)
        url = f"{server.base_url}/generic/up/tool/1.0/big.bin"
        with requests.get(url, headers=auth, stream=True, timeout=30) as first:
            assert first.status_code == 200
            assert len(next(first.iter_content(65536))) > 0
        # The client is gone while the upstream stalls; the fetch goes on.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            second = requests.get(url, headers=auth, timeout=30)
            if second.status_code == 200:
                break
            time.sleep(0.2)
        assert second.status_code == 200, second.text
        assert hashlib.sha256(second.content).digest() == hashlib.sha256(DATA).digest()
        assert upstream.hits["/tool/1.0/big.bin"] == 1


def test_an_upstream_dying_mid_stream_is_never_a_whole_file(tmp_path: Path) -> None:
    upstream = Upstream()
    route = upstream.serve("/tool/1.0/big.bin", DATA, cut_after=len(DATA) // 2)
    with upstream.running(), ServerProcess(tmp_path / "home") as server:
        auth = _remote(server, upstream)
        url = f"{server.base_url}/generic/up/tool/1.0/big.bin"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(url, headers=auth, timeout=30).content  # noqa: B018
        head = requests.head(url, headers=auth, timeout=30)
        assert head.status_code == 502  # fetched again, cut again: nothing kept
        route.cut_after = None
        again = requests.get(url, headers=auth, timeout=30)
        assert (again.status_code, again.content == DATA) == (200, True)
