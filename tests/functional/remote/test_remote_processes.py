"""Single-flight across processes: one fetch per file for processes sharing a database."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import time
from pathlib import Path

from sqlalchemy import select

from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.db.engine import make_engine, make_session_factory
from artifortress.remote.files import WantedFile
from artifortress.remote.leases import leases_for
from artifortress.remote.models import RemoteFetch
from artifortress.repos.models import Repository
from artifortress.repos.upstreams import upstream_of
from artifortress.repos.views import repo_info
from artifortress.settings import Settings

PROCESSES = 2
BYTES = b"fetched by one process only" * 1000
FILE = "/files/tool-1.0.tgz"
LEASE_KEY = "file:tool/1.0/tool-1.0.tgz"


def _fetch(db_url: str, home: str, barrier: object, results: object) -> None:
    """One node: wait for the other, then ask for the cold file."""
    settings = Settings.load(
        environ={"ARTIFORTRESS_HOME": home, "ARTIFORTRESS_DATABASE_URL": db_url}
    )
    services = Services.build(settings)
    with services.sessions() as db:
        repo = repo_info(db.scalars(select(Repository).where(Repository.key == "up")).one())
        upstream = upstream_of(db, repo)
    wanted = WantedFile("tool", "1.0", "tool-1.0.tgz", sha256=hashlib.sha256(BYTES).hexdigest())
    barrier.wait()  # type: ignore[attr-defined]
    found = services.remote.files.fetch(repo, upstream, upstream.url + FILE[1:], wanted, None)
    results.put(found.artifacts[0].size)  # type: ignore[attr-defined]
    services.close()


def test_two_processes_fetch_a_cold_file_once(make_remote, upstream, settings, tmp_path: Path):
    make_remote("up")
    upstream.serve(FILE, BYTES, delay=0.5)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_fetch, args=(settings.database_url, str(settings.home), barrier, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert [results.get(timeout=5) for _ in workers] == [len(BYTES)] * PROCESSES
    assert upstream.hits[FILE] == 1


def _hold_then_die(db_url: str, repository_id: int, holding: object) -> None:
    """A node that takes a file's lease and dies a second later without releasing it."""
    leases = leases_for(make_session_factory(make_engine(db_url)))
    assert leases.lease(repository_id, LEASE_KEY, 1.0).acquire()
    holding.set()  # type: ignore[attr-defined]
    time.sleep(1)
    os._exit(0)


def test_a_dead_owners_lease_expires_and_is_taken_over(
    admin, make_remote, upstream, services, settings
):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    with services.sessions.begin() as db:
        repository_id = db.scalars(select(Repository.id).where(Repository.key == "up")).one()
        if db.get_bind().dialect.name != "sqlite":  # SQLite's lease is a file lock instead
            db.add(
                RemoteFetch(
                    repository_id=repository_id,
                    key=LEASE_KEY,
                    owner="a process that died",
                    expires_at=utcnow() + dt.timedelta(seconds=1),
                )
            )
    if settings.database_url.startswith("sqlite"):
        ctx = multiprocessing.get_context("spawn")
        holding = ctx.Event()
        holder = ctx.Process(
            target=_hold_then_die, args=(settings.database_url, repository_id, holding)
        )
        holder.start()
        assert holding.wait(timeout=30)
    started = time.monotonic()
    answer = admin.get("/upstreamtest/up/file/tool/1.0/tool-1.0.tgz")
    assert (answer.status_code, answer.content) == (200, BYTES)
    assert 0.9 < time.monotonic() - started < 5
    assert upstream.hits[FILE] == 1
