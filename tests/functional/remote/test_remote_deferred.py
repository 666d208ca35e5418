"""A cold metadata document is answered before its row is committed, by the deferred writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from artifortress.remote import deferred
from artifortress.remote.deferred import DeferredWriter
from artifortress.remote.models import RemoteDocument
from tests.functional.remote.test_remote_streaming import wsgi_get

DOC = "/docs/index.json"
URL = "/upstreamtest/up/doc/index.json"


@pytest.fixture
def writes_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The deferred writer's transactions wait until the event is set."""
    go_on = threading.Event()
    commit = DeferredWriter._in_one_transaction

    def held(self: DeferredWriter, batch: list[object]) -> None:
        assert go_on.wait(10), "the test never let the writer go on"
        commit(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(DeferredWriter, "_in_one_transaction", held)
    yield go_on
    go_on.set()
    deferred.wait_for_deferred()


def stored(services) -> list[str]:
    with services.sessions() as db:
        return list(db.scalars(select(RemoteDocument.key)))


def test_a_new_document_is_answered_before_it_is_stored(
    app, admin, services, make_remote, upstream, writes_held
):
    make_remote("up")
    upstream.serve(DOC, b'{"v": 1}', content_type="application/json")
    for _ in range(2):  # the second asker of the process gets the same body, not a new fetch
        status, body = wsgi_get(app, admin, URL)
        assert (status[:3], b"".join(body)) == ("200", b'{"v": 1}')
    assert upstream.hits[DOC] == 1
    assert stored(services) == []  # not yet committed
    writes_held.set()
    deferred.wait_for_deferred()
    assert stored(services) == ["docs/index.json"]
    assert admin.get(URL).content == b'{"v": 1}'
    assert upstream.hits[DOC] == 1


def test_a_full_queue_makes_the_request_store_its_own(
    app, admin, services, make_remote, upstream, monkeypatch
):
    make_remote("up")
    monkeypatch.setattr(deferred, "QUEUE_LIMIT", 0)
    upstream.serve(DOC, b"x")
    status, body = wsgi_get(app, admin, URL)
    assert (status[:3], b"".join(body)) == ("200", b"x")
    assert stored(services) == ["docs/index.json"]  # without waiting for any writer


def test_queued_writes_share_a_transaction_and_fail_alone(services):
    writer = DeferredWriter(services.sessions)
    seen: list[int] = []
    outcomes: dict[str, BaseException | None] = {}
    first_done = threading.Event()

    def write(name: str, fail: bool = False):
        def run(db: Session) -> None:
            db.execute(text("SELECT 1"))
            seen.append(id(db))
            if fail:
                raise ValueError(f"{name} is bad")

        return run

    def done(name: str):
        def record(error: BaseException | None) -> None:
            outcomes[name] = error
            first_done.set()

        return record

    block, busy = threading.Event(), threading.Event()

    def first(db: Session) -> None:
        busy.set()
        block.wait(10)

    writer.submit(first, done("first"))  # keeps the writer busy
    assert busy.wait(10)  # else a (or more) could join the first's batch
    for name in ("a", "b", "c"):
        writer.submit(write(name, fail=name == "b"), done(name))
    block.set()
    assert writer.wait_idle(10)
    assert outcomes["first"] is None
    assert (outcomes["a"], outcomes["c"]) == (None, None)
    assert isinstance(outcomes["b"], ValueError)
    assert seen[0] == seen[1], "a and b were tried in one transaction (b failed it)"
    assert len(seen) == 2 + 3, "then a, b and c alone"


def test_run_gives_the_writes_result_or_its_error(services, monkeypatch):
    writer = DeferredWriter(services.sessions)
    assert writer.run(lambda db: db.execute(text("SELECT 41 + 1")).scalar_one()) == 42

    def broken(_db: Session) -> None:
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        writer.run(broken)
    monkeypatch.setattr(deferred, "QUEUE_LIMIT", 0)  # full: the caller commits it itself
    caller = threading.get_ident()
    assert writer.run(lambda db: threading.get_ident()) == caller


def test_cold_files_of_a_burst_are_published_in_shared_transactions(
    admin, services, make_remote, upstream, writes_held
):
    """Files fetched at once wait for the writer together, and land in one transaction."""
    make_remote("up")
    paths = []
    for n in range(4):
        upstream.serve(f"/files/f-{n}.tgz", b"x" * (n + 1))
        paths.append(f"/upstreamtest/up/file/f/{n}/f-{n}.tgz")
    answers: list[int] = []

    def fetch(path: str) -> None:
        answers.append(admin.client.simulate_get(path, headers=admin.headers()).status_code)

    fetches = [threading.Thread(target=fetch, args=(path,)) for path in paths]
    for thread in fetches:
        thread.start()
    time.sleep(1.0)  # every fetch is waiting for its publish now
    with write_transactions(services) as begun:
        writes_held.set()
        for thread in fetches:
            thread.join(10)
    assert answers == [200] * 4
    assert len(begun) <= 2, begun  # perhaps the first file alone; the others together


@contextmanager
def write_transactions(services) -> Iterator[list[str]]:
    begun: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)

    event.listen(services.engine, "before_cursor_execute", on_statement)
    try:
        yield begun
    finally:
        event.remove(services.engine, "before_cursor_execute", on_statement)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_thread_that_dies_tells_every_queued_write(services):
    """Nothing queued waits for ever on a thread that is gone; the next write starts another."""
    writer = DeferredWriter(services.sessions)
    busy, go_on = threading.Event(), threading.Event()
    told: dict[str, BaseException | None] = {}

    def dying(_db: Session) -> None:
        busy.set()
        assert go_on.wait(10)
        raise SystemExit("the thread is stopped")

    writer.submit(dying, lambda error: told.setdefault("dying", error))
    assert busy.wait(10)
    thread = writer._thread
    assert thread is not None
    writer.submit(lambda db: None, lambda error: told.setdefault("queued", error))
    go_on.set()
    assert writer.wait_idle(10)
    thread.join(10)  # it dies within this test, whose mark expects its exception
    assert isinstance(told["dying"], SystemExit)
    assert isinstance(told["queued"], SystemExit)
    assert writer.run(lambda db: "works again") == "works again"
