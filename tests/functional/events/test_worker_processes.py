"""Worker processes: several share PostgreSQL's queue exactly once; a killed one loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from artifortress.container import Services
from artifortress.outbox.models import DONE, PENDING
from artifortress.outbox.services import emit
from artifortress.testing.server import clean_environ, run_cli

from .helpers import FAST, drain, events, release

SCRIPT = Path(__file__).with_name("worker_process.py")
EVENTS = 300


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return FAST


def environ(services: Services, **extra: str) -> dict[str, str]:
    settings = services.settings
    return clean_environ(
        {
            "ARTIFORTRESS_HOME": str(settings.home),
            "ARTIFORTRESS_DATABASE_URL": settings.database_url,
            "ARTIFORTRESS_WORKER_POLL_INTERVAL": "0.05",
            **{f"ARTIFORTRESS_{k.upper()}": v for k, v in extra.items()},
        }
    )


def spawn(services: Services, mode: str, tmp_path: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), mode, str(tmp_path)],
        env=environ(services, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def emit_many(services: Services, count: int) -> None:
    tenant = services.default_tenant_id()
    with services.sessions.begin() as db:
        for n in range(count):
            emit(db, "test.ping", {"n": n}, tenant_id=tenant)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_several_workers_handle_every_event_exactly_once(services, tmp_path):
    with services.engine.begin() as conn:
        conn.execute(text("CREATE TABLE worker_effects (event_id BIGINT NOT NULL, pid INT)"))
    try:
        emit_many(services, EVENTS)
        workers = [spawn(services, "record", tmp_path, worker_batch="5") for _ in range(3)]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < len(workers):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.02)
        (tmp_path / "go").touch()
        for worker in workers:
            _out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
        with services.engine.connect() as conn:
            handled, distinct, pids = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT event_id), count(DISTINCT pid) "
                    "FROM worker_effects"
                )
            ).one()
    finally:
        with services.engine.begin() as conn:
            conn.execute(text("DROP TABLE worker_effects"))
    assert (handled, distinct) == (EVENTS, EVENTS)
    assert pids == 3, "every process took a share"
    assert {e.state for e in events(services)} == {DONE}
    assert {e.attempts for e in events(services)} == {1}


def test_a_worker_killed_mid_handler_leaves_the_event_to_be_retried(services, tmp_path):
    emit_many(services, 1)
    worker = spawn(services, "hang", tmp_path, worker_lease="1")
    marker = tmp_path / "started"
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, "the worker never started the handler"
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    [held] = events(services)
    assert (held.state, held.attempts) == (PENDING, 1)
    assert held.claimed_by is not None
    # Another worker takes it over once the dead one's lease has run out.
    report = drain(services)
    assert report.handled == 1
    [done] = events(services)
    assert (done.state, done.attempts) == (DONE, 2)


def test_the_worker_and_reindex_commands(admin, anonymous, make_repo, services):
    make_repo("pub", public=True)
    release(admin, "pub", "cli-made", "1.0", metadata={"summary": "from the command line"})
    env = environ(services)
    done = run_cli(["worker", "--drain"], env)
    assert "2 events handled" in done.stdout
    assert anonymous.get("/v1/search?q=command").json["total"] == 1
    rebuilt = run_cli(["reindex", "--recreate"], env)
    assert rebuilt.stdout.strip().endswith("indexed 1 packages")
    assert anonymous.get("/v1/search?q=command").json["total"] == 1
