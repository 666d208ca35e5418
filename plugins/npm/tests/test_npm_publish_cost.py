"""A publish's database work does not grow with the package's history.

The 50th version must cost what the 5th did: the publish asks only about the
version numbers its document carries and the dist-tags, never for every
version the package has. Counted (statements, loaded rows, SQLite engine
steps), not timed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile

import pytest

from artifortress.testing.dbwork import Work, WorkMeter


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def document(name: str, version: str) -> bytes:
    manifest = {"name": name, "version": version, "description": "cost test"}
    buffer = io.BytesIO()
    data = json.dumps(manifest).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    tgz = buffer.getvalue()
    dist = {
        "shasum": hashlib.sha1(tgz).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
    }
    return json.dumps(
        {
            "_id": name,
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {version: {**manifest, "dist": dist}},
            "_attachments": {
                f"{name}-{version}.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(tgz).decode(),
                    "length": len(tgz),
                }
            },
        }
    ).encode()


def publish(admin, meter: WorkMeter, number: int) -> Work:
    body = document("cost-demo", f"1.0.{number}")
    with meter.measure() as work:
        answer = admin.client.simulate_request(
            "PUT",
            "/npm/js/cost-demo",
            headers=admin.headers({"Content-Type": "application/json"}),
            body=body,
        )
    assert answer.status_code == 201, answer.text
    return work


def test_the_fiftieth_version_costs_what_the_fifth_did(admin, repo, services):
    meter = WorkMeter(services.engine)
    costs = [publish(admin, meter, n) for n in range(1, 51)]
    early, late = Work.least(costs[2:7]), Work.least(costs[45:50])  # the 5th, the 50th
    assert late.statements == early.statements, (early, late)
    assert late.rows == early.rows, (early, late)
    # Walking the 45 versions in between would add hundreds of instructions.
    assert late.steps <= early.steps + 20, (early, late)


def read_packument(admin, meter: WorkMeter) -> Work:
    """What ``npm publish`` (npm 11) asks before each PUT: the packument, found stale."""
    with meter.measure() as work:
        answer = admin.client.simulate_get(
            "/npm/js/cost-demo",
            headers=admin.headers({"Accept": "application/vnd.npm.install-v1+json"}),
        )
    assert answer.status_code == 200, answer.text
    return work


def test_the_packument_after_the_fiftieth_version_loads_what_after_the_fifth(admin, repo, services):
    """Rebuilt from kept pieces: only the new version's metadata is read, not all of them."""
    meter = WorkMeter(services.engine)
    costs = []
    for n in range(1, 51):
        publish(admin, meter, n)
        costs.append(read_packument(admin, meter))
    early, late = Work.least(costs[2:7]), Work.least(costs[45:50])
    assert late.statements == early.statements, (early, late)
    # Whole, it loaded every version (and its files): 45 more versions, 90 more rows.
    assert late.rows == early.rows, (early, late)
    versions = admin.get("/npm/js/cost-demo").json["versions"]
    assert list(versions) == [f"1.0.{n}" for n in range(1, 51)]
