"""GC runs online: uploads and publishes continue while it collects, and lose nothing.

The grace period is zero here, so every freshly uploaded blob is a candidate
the moment it lands: the race between ingest, draft and sweep is as tight as
it can be.  A publisher whose blob was collected before it entered a draft
gets a clear 4xx/503 and simply uploads again, as a client would.
"""

from __future__ import annotations

import hashlib
import threading

import pytest

from artifortress.gc.services import collect
from tests.functional.versions_helpers import upload

ROUNDS = 12
PUBLISHERS = 3


def _publish_until_done(api, worker: int, published: list[tuple[str, str, bytes]]) -> None:
    for n in range(ROUNDS):
        data = f"worker {worker} round {n} ".encode() * 50
        if n % 3 == 0:
            data = b"shared bytes that several publishers send" * 20  # dedupe path too
        version = f"{worker}.{n}"
        for _attempt in range(100):
            if _try_release(api, version, data):
                published.append((version, f"f{worker}-{n}.bin", data))
                break
        else:
            pytest.fail(f"worker {worker} could not publish {version}")


def _try_release(api, version: str, data: bytes) -> bool:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    created = api.post("/v1/repos/libs/uploads", {"digest": digest, "size": len(data)})
    if created.status_code == 201:
        part = api.client.simulate_request(
            "PUT",
            f"/v1/repos/libs/uploads/{created.json['id']}/parts/1",
            headers=api.headers(),
            body=data,
        )
        done = api.post(f"/v1/repos/libs/uploads/{created.json['id']}/complete")
        if part.status_code >= 300 or done.status_code >= 300:
            return False
    elif created.status_code != 200:
        return False
    draft = api.post(
        "/v1/repos/libs/packages/versions/drafts", {"package": "p", "version": version}
    )
    if draft.status_code == 409:
        return True  # an earlier attempt got through
    worker_file = f"f{version.replace('.', '-')}.bin"
    added = api.post(
        f"/v1/repos/libs/packages/versions/drafts/{draft.json['id']}/artifacts",
        {"filename": worker_file, "digest": digest},
    )
    if added.status_code != 201:
        api.delete(f"/v1/repos/libs/packages/versions/drafts/{draft.json['id']}")
        return False
    return (
        api.post(f"/v1/repos/libs/packages/versions/drafts/{draft.json['id']}/publish").status_code
        == 200
    )


def test_uploads_and_publishes_survive_concurrent_gc(services, admin, make_repo):
    make_repo("libs", format="generic")
    for n in range(3):  # garbage GC is sure to find, whatever the timing of the race
        upload(admin, "libs", f"orphan {n}".encode() * 100)
    published: list[tuple[str, str, bytes]] = []
    stop = threading.Event()
    reports = []

    def gc_loop() -> None:
        while not stop.wait(0.02):  # a pass every 20 ms: far more often than any real schedule
            reports.append(
                collect(services.sessions, services.blobs, grace_seconds=0, retention_seconds=0)
            )

    collector = threading.Thread(target=gc_loop)
    collector.start()
    workers = [
        threading.Thread(target=_publish_until_done, args=(admin, w, published))
        for w in range(PUBLISHERS)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=240)
    stop.set()
    collector.join(timeout=60)
    assert len(published) == ROUNDS * PUBLISHERS
    assert sum(r.collected for r in reports) > 0, (
        "GC never collected anything: the test proves nothing"
    )
    for version, _filename, data in published:
        found = admin.get(f"/v1/repos/libs/packages/p/versions/{version}")
        assert found.status_code == 200, found.text
        digest = found.json["artifacts"][0]["digest"]
        body = admin.get(f"/v1/repos/libs/blobs/{digest}")
        assert body.status_code == 200, (version, body.text)
        assert hashlib.sha256(body.content).hexdigest() == digest.removeprefix("sha256:")
        assert body.content == data
