"""Shared steps of the event-plane tests: publish with metadata, drain the outbox, read gauges."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from artifortress.container import Services
from artifortress.outbox.models import OutboxEvent
from artifortress.outbox.worker import Worker, WorkerReport
from artifortress.testing.helpers import Api
from tests.functional.versions_helpers import add_file, publish, upload

#: Fast retries and polling, loopback webhooks: what every event-plane test runs with.
FAST = {
    "event_retry_delay": "0.05",
    "event_retry_max_delay": "0.2",
    "worker_poll_interval": "0.05",
    "webhook_allow_private": "true",
    "webhook_timeout": "5",
}


def release(
    api: Api,
    repo: str,
    package: str,
    version: str,
    *,
    metadata: dict[str, Any] | None = None,
    data: bytes | None = None,
    expect: int = 200,
) -> Any:
    """Draft (with *metadata*), add one file, publish; returns the publish answer."""
    opened = api.post(
        f"/v1/repos/{repo}/packages/versions/drafts",
        {"package": package, "version": version, "metadata": metadata or {}},
    )
    assert opened.status_code == 201, opened.text
    payload = data if data is not None else f"{repo}/{package}/{version}".encode()
    added = add_file(
        api, repo, opened.json["id"], f"{package}-{version}.bin", upload(api, repo, payload)
    )
    assert added.status_code == 201, added.text
    answer = publish(api, repo, opened.json["id"])
    assert answer.status_code == expect, answer.text
    return answer


def drain(services: Services) -> WorkerReport:
    """Run a worker in this process until nothing is pending."""
    return Worker(services).run(drain=True)


def events(services: Services, event_type: str | None = None) -> list[OutboxEvent]:
    with services.sessions() as db:
        stmt = select(OutboxEvent).order_by(OutboxEvent.id)
        if event_type is not None:
            stmt = stmt.where(OutboxEvent.event_type == event_type)
        return list(db.scalars(stmt))


def gauge(api: Api, name: str) -> float:
    """The value of an unlabelled gauge in ``/metrics``."""
    text = api.get("/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))
