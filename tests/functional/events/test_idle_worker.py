"""An idle worker only reads: its polls never take the database's write lock.

On SQLite, ``serve`` runs an embedded worker that polls every 0.2 s; a poll
that began IMMEDIATE (or locked rows on PostgreSQL) would make every upload
and publish of the server queue behind it for nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, update

from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.outbox.models import DONE, OutboxEvent
from artifortress.outbox.services import emit
from artifortress.outbox.worker import BURST_MAX_DELAY, Worker

from .helpers import FAST, events
from .test_outbox import Recorder

#: What takes a lock a concurrent writer would wait for, on either dialect.
WRITES = re.compile(r"^\s*(BEGIN IMMEDIATE|INSERT|UPDATE|DELETE)\b|\bFOR UPDATE\b", re.I)
IDLE_POLLS = 20


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def extra_plugins(recorder: Recorder) -> list[object]:
    return [recorder]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return FAST


@contextmanager
def writes_to(services: Services) -> Iterator[list[str]]:
    """The statements that take a write lock, run on the services' engine inside the block."""
    seen: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITES.search(statement):
            seen.append(statement.split("\n")[0])

    event.listen(services.engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(services.engine, "before_cursor_execute", on_statement)


def test_idle_polls_only_read_and_a_due_event_is_still_claimed(services, recorder):
    worker = Worker(services)
    worker.step()  # a new worker's first round prunes (then once every ten minutes)
    with writes_to(services) as writes:
        for _ in range(IDLE_POLLS):
            assert worker.step() == 0
        # `worker --drain` beside serve's worker asks the same way whether all is done.
        assert worker._idle_wait(drain=True) is None
    assert writes == []

    with services.sessions.begin() as db:
        emit(db, "test.due", {"n": 1}, tenant_id=services.default_tenant_id())
    assert worker.step() == 1
    assert [t for _, t, _ in recorder.seen] == ["test.due"]
    assert [e.state for e in events(services, "test.due")] == [DONE]


def test_a_batch_is_claimed_and_settled_in_two_write_transactions(services, recorder):
    """Not one per event: beside the API's writers, each is a turn at SQLite's write lock."""
    worker = Worker(services)
    worker.step()  # the first round's pruning
    with services.sessions.begin() as db:
        for n in range(5):
            emit(db, "test.batch", {"n": n}, tenant_id=services.default_tenant_id())
    with writes_to(services) as writes:
        assert worker.step() == 5
    begins = [w for w in writes if w.startswith("BEGIN IMMEDIATE")]
    if services.engine.dialect.name == "sqlite":
        assert len(begins) == 2, writes
    assert [e.state for e in events(services, "test.batch")] == [DONE] * 5
    assert worker.report.handled == 5


def test_a_running_worker_lets_a_burst_settle_then_handles_it_at_once(services, recorder):
    """Events newer than the quiet period wait (not beyond BURST_MAX_DELAY); drains never wait."""
    worker = Worker(services)
    worker._settling = True  # as run() does unless draining
    worker.settings = dataclasses.replace(services.settings, worker_quiet_period=0.3)
    with services.sessions.begin() as db:
        for n in range(3):
            emit(db, "test.burst", {"n": n}, tenant_id=services.default_tenant_id())
    assert worker.step() == 0, "handled while the burst may go on"
    assert 0 < worker._idle_wait(drain=False) <= 0.3  # polls again by the end of the quiet
    time.sleep(0.35)
    assert worker.step() == 3
    assert [t for _, t, _ in recorder.seen] == ["test.burst"] * 3


def test_a_burst_that_never_ends_is_handled_after_the_longest_delay(services, recorder):
    worker = Worker(services)
    worker._settling = True
    worker.settings = dataclasses.replace(services.settings, worker_quiet_period=60)
    with services.sessions.begin() as db:
        emit(db, "test.old", {}, tenant_id=services.default_tenant_id())
        db.execute(
            update(OutboxEvent).values(
                available_at=utcnow() - dt.timedelta(seconds=BURST_MAX_DELAY + 1)
            )
        )
    assert worker.step() == 1


def test_draining_does_not_wait_for_quiet(services, recorder):
    with services.sessions.begin() as db:
        emit(db, "test.drained", {}, tenant_id=services.default_tenant_id())
    worker = Worker(services)
    worker.settings = dataclasses.replace(services.settings, worker_quiet_period=60)
    report = worker.run(drain=True)
    assert report.handled == 1
