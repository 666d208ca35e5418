"""The outbox: an event per state change in the same transaction, consumed after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.outbox.events import Event
from artifortress.outbox.models import DEAD, DONE, PENDING, OutboxEvent
from artifortress.outbox.services import emit

from .helpers import FAST, drain, events, gauge, release


class Recorder:
    """A third-party style handler that remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, int]] = []

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        self.seen.append((event.id, event.type, event.attempt))


class Flaky:
    """Fails while ``broken`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.broken = True

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        self.calls += 1
        if self.broken:
            raise RuntimeError("downstream is down")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def extra_plugins(recorder: Recorder) -> list[object]:
    return [recorder]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {**FAST, "event_max_attempts": "3"}


def types(services: Services) -> list[str]:
    return [e.event_type for e in events(services)]


def test_every_state_change_writes_its_event(admin, make_repo, services):
    make_repo("libs")
    make_repo("prod")
    make_repo("empty")
    base = "/v1/repos/libs/packages/tool/versions/1.0"
    assert admin.patch("/v1/repos/libs", {"description": "tools"}).status_code == 200
    release(admin, "libs", "tool", "1.0")
    steps = [
        admin.post(f"{base}/yank", {"reason": "bad"}),
        admin.delete(f"{base}/yank"),
        admin.post(f"{base}/deprecation", {"message": "use 2"}),
        admin.delete(f"{base}/deprecation"),
        admin.put("/v1/repos/libs/packages/tool/labels/stable", {"version": "1.0"}),
        admin.delete("/v1/repos/libs/packages/tool/labels/stable"),
        admin.post(f"{base}/promote", {"target": "prod"}),
        admin.delete(base),
        admin.post(f"{base}/restore"),
        admin.delete("/v1/repos/empty"),
    ]
    assert [s.status_code for s in steps] == [200] * 6 + [201] + [200] * 3
    assert types(services) == [
        "repository.created",
        "repository.created",
        "repository.created",
        "repository.updated",
        "version.published",
        "version.yanked",
        "version.unyanked",
        "version.deprecated",
        "version.undeprecated",
        "label.set",
        "label.deleted",
        "version.promoted",
        "version.deleted",
        "version.restored",
        "repository.deleted",
    ]
    published = events(services, "version.published")[0]
    assert published.repo_key == "libs"
    assert published.state == PENDING
    assert {
        "package": "tool",
        "version": "1.0",
        "actor": "admin",
    }.items() <= published.payload.items()
    promoted = events(services, "version.promoted")[0]
    assert (promoted.repo_key, promoted.payload["source"]) == ("prod", "libs")


def test_a_failed_change_writes_no_event(admin, make_repo, services):
    make_repo("libs")
    release(admin, "libs", "tool", "1.0")
    before = types(services)
    again = admin.post(
        "/v1/repos/libs/packages/versions/drafts", {"package": "tool", "version": "1.0"}
    )
    assert again.status_code == 409
    assert admin.post("/v1/repos/libs/packages/nope/versions/1.0/yank", {}).status_code == 404
    assert types(services) == before


def test_emit_commits_or_rolls_back_with_the_caller(services):
    tenant = services.default_tenant_id()
    with services.sessions() as db:
        emit(db, "test.rolled_back", {}, tenant_id=tenant)
        db.flush()
        db.rollback()
    with services.sessions.begin() as db:
        emit(db, "test.committed", {"n": 1}, tenant_id=tenant)
    assert types(services) == ["test.committed"]


def test_the_worker_hands_each_event_to_handlers_once_after_commit(
    admin, make_repo, services, recorder
):
    make_repo("libs")
    release(admin, "libs", "tool", "1.0")
    assert recorder.seen == []  # nothing runs in the request
    report = drain(services)
    assert report.handled == 2
    assert [t for _, t, _ in recorder.seen] == ["repository.created", "version.published"]
    assert {a for _, _, a in recorder.seen} == {1}
    assert {e.state for e in events(services)} == {DONE}
    assert drain(services).handled == 0
    assert len(recorder.seen) == 2


def test_a_failing_handler_is_retried_alone_then_dead_lettered_and_retried_by_an_admin(
    admin, make_repo, services, recorder
):
    flaky = Flaky()
    services.plugins.register(flaky, name="flaky")
    make_repo("libs")
    report = drain(services)
    assert (report.handled, report.retried, report.dead) == (0, 2, 1)
    assert flaky.calls == 3  # event_max_attempts
    assert len(recorder.seen) == 1  # it succeeded once and is not called again
    [dead] = events(services)
    assert dead.state == DEAD
    assert "flaky: RuntimeError: downstream is down" in (dead.last_error or "")
    assert gauge(admin, "artifortress_outbox_dead_events") == 1

    listed = admin.get("/v1/admin/outbox")
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json["events"]] == [dead.id]
    succeeded = {
        services.plugins.get_name(recorder),
        "artifortress.search",
        "artifortress.webhooks",
    }
    assert set(listed.json["events"][0]["completed_handlers"]) == succeeded
    flaky.broken = False
    retried = admin.post(f"/v1/admin/outbox/{dead.id}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json["state"], retried.json["attempts"]) == (PENDING, 0)
    assert admin.post(f"/v1/admin/outbox/{dead.id}/retry").status_code == 409
    assert drain(services).handled == 1
    assert flaky.calls == 4
    assert len(recorder.seen) == 1
    assert events(services)[0].state == DONE
    assert admin.get("/v1/audit?action=outbox.retry").json["entries"][0]["target"] == str(dead.id)


def test_without_a_worker_the_api_serves_and_the_backlog_grows_then_drains(
    admin, anonymous, make_repo, services
):
    make_repo("libs", public=True)
    release(admin, "libs", "tool", "1.0")
    first = gauge(admin, "artifortress_outbox_backlog")
    assert first == 2
    for n in range(3):
        release(admin, "libs", f"tool{n}", "1.0")
    assert gauge(admin, "artifortress_outbox_backlog") == first + 3
    assert gauge(admin, "artifortress_outbox_oldest_pending_age_seconds") > 0
    # Everything else keeps working while the events wait.
    assert anonymous.get("/v1/repos/libs/packages/tool/versions/1.0").status_code == 200
    assert admin.get("/v1/repos/libs/packages").json["packages"][0]["name"] == "tool"
    assert anonymous.get("/v1/search?q=tool").json["total"] == 0  # not indexed yet
    drain(services)
    assert gauge(admin, "artifortress_outbox_backlog") == 0
    assert gauge(admin, "artifortress_outbox_oldest_pending_age_seconds") == 0
    assert anonymous.get("/v1/search?q=tool").json["total"] == 4


def test_handled_events_are_pruned_after_the_retention(services, admin, make_repo):
    make_repo("libs")
    drain(services)
    object.__setattr__(services.settings, "event_retention", 0.0)
    worker_report = drain(services)  # a new worker prunes on its first idle round
    assert worker_report.handled == 0
    with services.sessions() as db:
        assert db.scalar(select(func.count(OutboxEvent.id))) == 0
