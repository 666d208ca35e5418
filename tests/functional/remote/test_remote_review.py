"""Review of the cold-file release, the deferred writer and ``policy.services.can_refuse``.

Each test pins a way the early release or the deferred writes went wrong.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from artifortress.container import Services
from artifortress.policy import services as policies
from artifortress.remote import deferred, relay
from artifortress.remote.deferred import DeferredWriter
from artifortress.remote.files import FileFetcher
from artifortress.repos.models import Repository
from tests.functional.remote.conftest import UpstreamTestFormat
from tests.functional.remote.test_remote_release import BYTES, FILE, SHA256, URL, VERSION
from tests.functional.remote.test_remote_streaming import read_into, wsgi_get


@pytest.fixture
def extra_plugins() -> list[object]:
    return [UpstreamTestFormat()]  # and no policy of a plugin's


@pytest.mark.parametrize(
    "setting",
    [
        {"max_artifact_size": 0},  # every file with a byte is too big
        {"allowed_licenses": []},  # no license is allowed
    ],
)
def test_a_setting_that_refuses_everything_is_one_that_can_refuse(
    app, admin, services, make_remote, upstream, setting
):
    """Falsy yet on: skipping the policies for it published what they refuse."""
    make_remote("up")
    assert admin.put("/v1/repos/up/policy", setting).status_code == 200
    with services.sessions() as db:
        repo_id = db.scalars(select(Repository.id).where(Repository.key == "up")).one()
        assert policies.can_refuse(db, repo_id, services.plugins)
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    received = bytearray()
    with pytest.raises(ConnectionResetError):
        read_into(received, body)
    body.close()  # type: ignore[attr-defined]
    assert len(received) < len(BYTES)  # the refused file's last byte never went out
    assert admin.get(VERSION).status_code == 404


@pytest.fixture
def threads_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """No new thread starts, as in an atexit handler of Python 3.12 and later."""

    def refuse(_thread: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)


def test_a_writer_that_cannot_start_its_thread_leaves_the_write_to_the_caller(
    services, threads_refused
):
    """A detached fetch publishing at exit (3.12 refuses new threads there) must not hang it."""
    writer = DeferredWriter(services.sessions)
    assert writer.run(lambda db: db.scalar(text("select 7"))) == 7  # written by the caller
    assert writer.wait_idle(timeout=1.0), "a queued write nobody will commit"
    deferred.wait_for_deferred(timeout=1.0)


def test_a_failing_callback_fails_nobody_else(services, caplog):
    """A ``done`` raising (a lease's release on a database that went away) must not stop the writer.

    It ended the batch's loop of callbacks: the writes after it were never
    told (their ``run()`` waited for ever), the one before it was told twice,
    and the writer's thread died.
    """
    writer = DeferredWriter(services.sessions)
    told: list[BaseException | None] = []
    second_told = threading.Event()

    def failing(error: BaseException | None) -> None:
        told.append(error)
        raise RuntimeError("the lease could not be released")

    def second(error: BaseException | None) -> None:
        told.append(error)
        second_told.set()

    with writer._changed:  # both in one batch: the writer takes them once this is let go
        assert writer.submit(lambda db: None, failing)
        assert writer.submit(lambda db: None, second)
    assert second_told.wait(5), "the write after the failing callback was never told"
    assert writer.wait_idle(timeout=5)
    assert told == [None, None]  # each told once, that it is committed
    assert "could not be handed over" in caplog.text
    assert writer.run(lambda db: db.scalar(text("select 7"))) == 7


def test_a_publish_failing_after_the_bytes_went_out_says_the_client_has_them(
    app, admin, make_remote, upstream, monkeypatch, caplog
):
    """The log line said the response "ended short": it had ended whole, verified."""
    make_remote("up")

    def refused(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(FileFetcher, "_publish", refused)
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert b"".join(body) == BYTES
    body.close()  # type: ignore[attr-defined]
    relay.wait_for_detached()
    [line] = [r.message for r in caplog.records if "was not kept" in r.message]
    assert "ended short" not in line
    assert "had all its verified bytes" in line


def test_closing_the_services_ends_their_writer_thread(settings):
    """One thread (holding its engine's connections) per Services built, for the process's life."""
    built = Services.build(settings)
    writer = built.remote._writer
    committed = threading.Event()
    assert writer.submit(lambda db: None, lambda error: committed.set())
    thread = writer._thread
    assert thread is not None
    built.close()
    assert committed.is_set(), "closed before what was queued was committed"
    assert not thread.is_alive()
    assert writer.run(lambda db: db.scalar(text("select 7"))) == 7  # a later write still goes
    writer.close()
