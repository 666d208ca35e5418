"""A serving worker holds what serving needs and no more.

gunicorn forks every worker from its master, so anything the master imports
(the migration tooling it once ran) is resident in every worker; a backend
that is not configured (S3, Redis) must not be imported either.  The memory
bound is generous: it catches a cache or a library that suddenly costs tens
of MiB per worker, not a few modules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

#: A worker measured about 66 MiB after these requests (Python 3.11, SQLite, local store).
RSS_LIMIT_MIB = 100
NOT_NEEDED = {"alembic", "boto3", "botocore", "redis", "mako"}

#: A gunicorn hook (ARTIFORTRESS_GUNICORN_CONF): after each request a worker lists its
#: modules, atomically (the test may read at any moment), in a file named by the
#: request's query: gunicorn runs the hook after the response is sent, on the
#: request's own thread, so an earlier request's listing may be written later.
HOOK = """
import json, os, sys
from pathlib import Path

def post_request(worker, req, environ, resp):
    query = environ.get("QUERY_STRING") or ""
    names = sorted({{name.split(".")[0] for name in sys.modules}})
    label = query if query.isalnum() else "other"
    listing = Path({out!r}, f"modules-{{worker.pid}}-{{label}}.json")
    scratch = listing.with_suffix(".tmp-" + str(os.getpid()) + "-" + str(id(req)))
    scratch.write_text(json.dumps({{"after": query, "modules": names}}))
    os.replace(scratch, listing)
"""
#: The query of the last request :func:`exercise` makes.
LAST = "exercised"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One worker that served a few requests of each kind."""
    folder = tmp_path_factory.mktemp("worker-memory")
    conf = folder / "gunicorn_conf.py"
    conf.write_text(HOOK.format(out=str(folder)))
    environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_GUNICORN_CONF": str(conf)}
    with ServerProcess(folder / "home", environ) as running:
        exercise(running)
        yield running


def worker_pid(server: ServerProcess) -> int:
    (pid,) = server.serving_workers()
    return pid


def modules_of(server: ServerProcess, pid: int) -> set[str]:
    """The worker's modules once it has answered the last request of :func:`exercise`."""
    conf = Path(server.environ["ARTIFORTRESS_GUNICORN_CONF"])
    listing = conf.with_name(f"modules-{pid}-{LAST}.json")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = json.loads(listing.read_text()) if listing.exists() else {}
        if found.get("after") == LAST:
            return set(found["modules"])
        time.sleep(0.05)
    raise AssertionError("the worker never listed its modules after the last request")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def exercise(server: ServerProcess) -> None:
    """A few requests of each kind: JSON API, upload, download, listing, index page."""
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    base = server.base_url
    for key, kind in (("files", "generic"), ("py", "pypi"), ("js", "npm")):
        created = requests.post(
            f"{base}/v1/repos", json={"key": key, "format": kind}, headers=auth, timeout=10
        )
        assert created.status_code == 201, created.text
    body = b"x" * (3 * 1024 * 1024)
    put = requests.put(f"{base}/generic/files/app/1.0/app.bin", data=body, headers=auth, timeout=30)
    assert put.status_code == 201, put.text
    for path in ("/generic/files/app/1.0/app.bin", "/generic/files/app/", "/pypi/py/simple/"):
        assert requests.get(base + path, headers=auth, timeout=10).status_code == 200
    assert requests.get(f"{base}/npm/js/nothing", headers=auth, timeout=10).status_code == 404
    assert requests.get(f"{base}/healthz?{LAST}", timeout=10).status_code == 200


def test_a_worker_imports_no_migration_tool_and_no_unused_backend(server: ServerProcess) -> None:
    modules = modules_of(server, worker_pid(server))
    assert "sqlalchemy" in modules  # the listing is real
    assert modules & NOT_NEEDED == set()


def test_a_worker_stays_within_a_generous_memory_bound(server: ServerProcess) -> None:
    assert peak_rss_mib(worker_pid(server)) < RSS_LIMIT_MIB
