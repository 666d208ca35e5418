"""The event worker's periodic scrub (``ARTIFORTRESS_SCRUB_INTERVAL``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from artifortress.audit.models import AuditEntry
from artifortress.blobs.schedule import FINISHED, STARTED, ScrubSchedule
from artifortress.outbox.worker import Worker
from tests.functional.blob_helpers import payload, upload
from tests.functional.test_scrub import corrupt


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"scrub_interval": "1h"}


def scrub_audit(services: Any) -> list[str]:
    with services.sessions() as db:
        actions = (STARTED, FINISHED)
        return list(db.scalars(select(AuditEntry.action).where(AuditEntry.action.in_(actions))))


def test_the_worker_scrubs_once_per_interval_and_moves_corrupt_blobs_aside(
    services, admin, make_repo
):
    make_repo("libs", format="generic")
    data = payload(50_000, seed=7)
    digest = upload(admin, "libs", data)
    corrupt(services.blobs, digest, data)
    worker = Worker(services)
    worker.step()
    worker.scrubs.join(timeout=30)
    assert sorted(scrub_audit(services)) == [FINISHED, STARTED]
    assert services.blobs.size_of(digest) is None  # moved aside: never served wrong
    assert admin.get(f"/v1/repos/libs/blobs/{digest}").status_code == 404
    # Another worker (or a restart) finds the last scrub within the interval.
    assert ScrubSchedule(services).start_if_due() is False
    assert len(scrub_audit(services)) == 2


@pytest.mark.parametrize("settings_overrides", [{}], indirect=False)
def test_off_by_default(services, settings_overrides):
    assert services.settings.scrub_interval == 0
    assert ScrubSchedule(services).start_if_due() is False
    Worker(services).step()
    assert scrub_audit(services) == []
