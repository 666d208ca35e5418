"""``artifortress remote prefetch`` beside a running server: what it fetched, the server serves.

The upstream is a test server on 127.0.0.1; after the prefetch it stops, and
the real server (``artifortress serve``, same home) still serves every file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from tests.support.upstream import Upstream

pytestmark = [pytest.mark.e2e]

FILES = {"tool/1.0/tool.tgz": b"tool" * 1000, "tool/1.0/docs/readme.txt": b"read me"}


def test_prefetched_files_are_served_by_the_server_after_the_upstream_stops(
    tmp_path: Path,
) -> None:
    upstream = Upstream()
    for path, data in FILES.items():
        upstream.serve(f"/{path}", data)
    with ServerProcess(tmp_path / "home") as server:
        remote = ["--format", "generic", "--kind", "remote", "--upstream", upstream.url]
        server.cli("repo", "create", "up", *remote)
        token = server.cli("admin", "create-token", "--user", "ci", "--admin").stdout.split()[-1]
        listed = tmp_path / "paths.txt"
        listed.write_text("\n".join(FILES) + "\nnot/1.0/there.bin\n")
        with upstream.running():
            done = server.cli("remote", "prefetch", "up", str(listed), check=False)
        assert done.returncode == 1, done.stderr
        assert done.stdout.strip() == "prefetched 2 of 3 requests through up; 1 failed"
        assert "failed: /generic/up/not/1.0/there.bin: 404" in done.stderr
        assert all(upstream.hits[f"/{path}"] == 1 for path in FILES)
        # The upstream is gone: the server answers from what the prefetch stored.
        for path, data in FILES.items():
            answer = requests.get(
                f"{server.base_url}/generic/up/{path}", auth=("ci", token), timeout=10
            )
            assert (answer.status_code, answer.content) == (200, data)
