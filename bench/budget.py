"""The read budget: CPU per step of a cached read, in one process (``python -m bench.budget``).

A throwaway installation on SQLite (a temporary folder) with one PyPI project
and one generic file; each step runs a few thousand times per round and the
least per-call CPU time (``time.process_time``) of seven rounds is printed,
a Markdown table for docs/read-path.md.  Process CPU time, not wall time, so
other work on the machine inflates it less; the whole requests go through
falcon's test client (about a tenth of a millisecond of their own, the
``/healthz`` row), not through gunicorn.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import falcon.testing
from urllib3 import encode_multipart_formdata

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.db.engine import sqlite_reads_only
from artifortress.rbac.services import permissions_on
from artifortress.renderings.store import _counter
from artifortress.repos.services import lookup_repo
from artifortress.settings import Settings
from artifortress.testing.databases import fresh_sqlite, migrated_sqlite_template
from artifortress.testing.events import drain_events
from artifortress.testing.helpers import Api, ApiFactory

PAGE = "/pypi/py/simple/budget/"
FILE = "/generic/files/tool/1.0/tool.txt"


def _wheel() -> tuple[bytes, str]:
    """A small wheel of project ``budget`` 1.0, as twine's legacy upload form."""
    filename = "budget-1.0-py3-none-any.whl"
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("budget/__init__.py", b"")
        metadata = b"Metadata-Version: 2.1\nName: budget\nVersion: 1.0\n"
        archive.writestr("budget-1.0.dist-info/METADATA", metadata)
        archive.writestr("budget-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
    wheel = data.getvalue()
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "budget",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(wheel).hexdigest(),
        "content": (filename, wheel, "application/octet-stream"),
    }
    return encode_multipart_formdata(fields)


def _installation(folder: Path) -> tuple[Services, falcon.testing.TestClient, Api]:
    url = fresh_sqlite(migrated_sqlite_template(folder), folder)
    environ = {"ARTIFORTRESS_HOME": str(folder / "home"), "ARTIFORTRESS_DATABASE_URL": url}
    services = Services.build(Settings.load(environ=environ))
    client = falcon.testing.TestClient(create_app(services))
    people = ApiFactory(client, services)
    admin = people.as_user("admin", admin=True)
    for key, format in (("py", "pypi"), ("files", "generic")):
        assert admin.post("/v1/repos", {"key": key, "format": format}).status_code == 201
    body, content_type = _wheel()
    uploaded = admin.post("/pypi/py/legacy/", body, headers={"Content-Type": content_type})
    assert uploaded.status_code == 200, uploaded.text
    assert admin.put(FILE, b"x" * 400).status_code == 201
    drain_events(services)
    reader = people.as_user("reader", roles={"py": ["read"], "files": ["read"]})
    return services, client, reader


#: Calls per round and rounds per step (``BENCH_BUDGET_CALLS``: fewer calls, for a quick look).
CALLS = int(os.environ.get("BENCH_BUDGET_CALLS") or 2000)
ROUNDS = 7


def _least_cpu(step: Callable[[], object], calls: int = CALLS, rounds: int = ROUNDS) -> float:
    """Microseconds of process CPU per call, the least of *rounds*."""
    step()
    least = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            step()
        least = min(least, (time.process_time() - started) / calls)
    return least * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        services, client, reader = _installation(Path(folder))
        assert reader.token is not None
        token = reader.token
        sqlite_reads_only.set(True)  # as a GET request runs: deferred transactions
        principal = services.authenticator.authenticate(token)
        with services.sessions() as db:
            repo = lookup_repo(db, principal.tenant_id, "py")
        assert repo is not None
        assert services.counters is not None
        counters = services.counters

        def decide() -> None:
            with services.sessions() as db:
                found = lookup_repo(db, principal.tenant_id, "py")
                assert found is not None
                permissions_on(db, principal, found)

        def counter_in_session() -> None:
            with services.sessions() as db:
                _counter(db, repo.id, "budget")

        def healthz() -> None:
            client.simulate_get("/healthz")

        steps: dict[str, Callable[[], object]] = {
            "`/healthz` (falcon, middleware, test client; no database)": lambda: (
                client.simulate_get("/healthz")
            ),
            "authenticate a cached token": lambda: services.authenticator.authenticate(token),
            "read decision kept (`GrantCache`)": lambda: services.grants.reading(principal, "py"),
            "read decision afresh (session, repository, roles)": decide,
            "change counter through a session": counter_in_session,
            "change counter on a pooled connection (`CounterReader`)": lambda: counters.read(
                repo.id, "budget"
            ),
            "cached simple page, whole request": lambda: reader.get(PAGE),
            "400-byte generic file, whole request": lambda: reader.get(FILE),
        }
        print("| step | CPU per call |\n|---|---:|")
        for name, step in steps.items():
            print(f"| {name} | {_least_cpu(step):,.1f} µs |")
        services.close()


if __name__ == "__main__":
    main()
