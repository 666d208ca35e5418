"""When a cold file's last byte goes out: once verified if no policy could refuse it, else kept.

The client of a cold file waits for nothing it does not need: with no policy
that could hold the file, its bytes all go out once they match what the
upstream announced, and the store and publish finish after the response
(bounded per process). Where a policy could hold it, the last byte still
waits for the publish's verdict.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from artifortress.plugin import PolicyDecision, PolicyRequest, hookimpl
from artifortress.plugin_manager import make_plugin_manager
from artifortress.policy import services as policies
from artifortress.remote import relay
from artifortress.remote.files import FileFetcher
from artifortress.remote.relay import ResponseCut
from artifortress.repos.models import Repository
from tests.functional.remote.conftest import UpstreamTestFormat
from tests.functional.remote.test_remote_streaming import read_into, wsgi_get

BYTES = bytes(range(256)) * 1024
SHA256 = hashlib.sha256(BYTES).hexdigest()
FILE = "/files/big-1.0.tgz"
URL = "/upstreamtest/up/stream/big/1.0/big-1.0.tgz"
VERSION = "/v1/repos/up/packages/big/versions/1.0"


@pytest.fixture
def extra_plugins() -> list[object]:
    return [UpstreamTestFormat()]  # and no policy of a plugin's


@pytest.fixture
def publishing_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every remote publish waits until the event is set (set again at the end)."""
    go_on = threading.Event()
    publish = FileFetcher._publish

    def held(self: FileFetcher, *args: object, **kwargs: object) -> object:
        assert go_on.wait(10), "the test never let the publish go on"
        return publish(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FileFetcher, "_publish", held)
    yield go_on
    go_on.set()
    relay.wait_for_detached()


def read_all(body: Iterator[bytes]) -> bytes:
    return b"".join(body)


def test_verified_bytes_go_out_before_the_publish(
    app, admin, make_remote, upstream, publishing_held
):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert status.startswith("200")
    assert read_all(body) == BYTES  # while the publish still waits
    body.close()  # type: ignore[attr-defined]  # leaves the publish to the fetch's thread
    publishing_held.set()
    assert admin.get(VERSION).status_code == 200  # the client helper waits for it
    assert admin.get(URL).content == BYTES
    assert upstream.hits[FILE] == 1


def test_a_policy_that_could_hold_the_file_keeps_its_last_byte(
    app, admin, make_remote, upstream, publishing_held
):
    make_remote("up")
    assert admin.put("/v1/repos/up/policy", {"typosquat": True}).status_code == 200
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(read_all(body)), daemon=True)
    reader.start()
    reader.join(timeout=1.0)
    assert reader.is_alive(), "the last byte went out before the publish"
    assert len(received) < len(BYTES)
    publishing_held.set()
    reader.join(timeout=10)
    body.close()  # type: ignore[attr-defined]
    assert bytes(received) == BYTES


def test_a_mismatch_still_ends_short(app, admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES[::-1])
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    received = bytearray()
    with pytest.raises(ResponseCut):
        read_into(received, body)
    body.close()  # type: ignore[attr-defined]
    assert len(received) < len(BYTES)
    assert admin.get("/v1/repos/up/packages/big").status_code == 404


def test_past_the_limit_a_response_waits_for_its_publish(
    app, admin, make_remote, upstream, publishing_held, monkeypatch
):
    make_remote("up")
    monkeypatch.setattr(relay, "DETACHED_LIMIT", 0)
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert read_all(body) == BYTES
    closed = threading.Thread(target=body.close, daemon=True)  # type: ignore[attr-defined]
    closed.start()
    closed.join(timeout=0.5)
    assert closed.is_alive(), "the response ended without waiting for its publish"
    publishing_held.set()
    closed.join(timeout=10)
    assert not closed.is_alive()


def test_a_publish_failing_after_the_bytes_went_out_stores_nothing(
    app, admin, make_remote, upstream, monkeypatch, caplog
):
    make_remote("up")

    def refused(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(FileFetcher, "_publish", refused)
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert read_all(body) == BYTES  # verified bytes: the client has them
    body.close()  # type: ignore[attr-defined]
    relay.wait_for_detached()
    monkeypatch.undo()
    assert any("was not kept" in record.message for record in caplog.records)
    assert admin.get(VERSION).status_code == 404
    assert admin.get(URL).content == BYTES  # fetched again, and kept this time
    assert upstream.hits[FILE] == 2


class QuarantineEverything:
    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        return PolicyDecision.quarantine("everything waits", policy="test")


@pytest.mark.parametrize(
    ("setting", "refusable"),
    [
        ({}, False),
        ({"typosquat": False, "blocked_name_patterns": []}, False),
        ({"typosquat": True}, True),
        ({"max_artifact_size": 10}, True),
        ({"blocked_name_patterns": ["evil-*"]}, True),
        ({"require_verified_provenance": True}, True),
    ],
)
def test_what_could_refuse_a_file(services, make_remote, admin, setting, refusable):
    make_remote("up")
    if setting:
        assert admin.put("/v1/repos/up/policy", setting).status_code == 200
    with services.sessions() as db:
        repo_id = db.scalars(select(Repository.id).where(Repository.key == "up")).one()
        assert policies.can_refuse(db, repo_id, services.plugins) is refusable
        plugins = make_plugin_manager(entry_points=False)
        plugins.register(QuarantineEverything())
        assert policies.can_refuse(db, repo_id, plugins), "a plugin's policy could refuse it"


def test_a_publish_asks_no_policy_when_none_could_refuse(admin, make_remote, upstream, monkeypatch):
    """Nothing to judge: the tenant-wide name lookups of the typosquat check are skipped."""
    asked: list[str] = []
    monkeypatch.setattr(policies, "_name_taken", lambda _db, _tenant, name: asked.append(name))
    make_remote("up")
    upstream.serve(FILE, BYTES)
    assert admin.get(URL).content == BYTES
    assert asked == []
    assert admin.put("/v1/repos/up/policy", {"typosquat": True}).status_code == 200
    upstream.serve("/files/big-2.0.tgz", BYTES)
    assert admin.get("/upstreamtest/up/stream/big/2.0/big-2.0.tgz").content == BYTES
    assert asked == ["big"]
