"""An upload's database work does not grow with the project's history.

The 50th release of a project must cost what the 5th did: the "was this file
name ever used?" check is one indexed lookup, not a read of every release.
Counted (statements, loaded rows, SQLite engine steps), not timed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from artifortress.testing.dbwork import Work, WorkMeter
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.test_pypi_upload_http import form

URL = "/pypi/py/legacy/"
TAGS = ("py3-none-any", "cp311-cp311-win_amd64")


@pytest.fixture
def repo(make_repo):
    make_repo("py", format="pypi")


def form_for(tmp_path: Path, name: str, version: str, filename: str) -> tuple[bytes, str]:
    """The legacy upload form of a tiny wheel *filename* of project *name* at *version*."""
    data = make_wheel(
        tmp_path,
        filename,
        metadata_text(name=name, version=version).encode(),
        dist_info=f"{filename.split('-')[0]}-{version}.dist-info",
    ).read_bytes()
    return form(data, filename, name=name, version=version)


def post(admin, body: bytes, content_type: str) -> None:
    answer = admin.client.simulate_request(
        "POST", URL, headers=admin.headers({"Content-Type": content_type}), body=body
    )
    assert answer.status_code == 200, answer.text


def upload(admin, tmp_path: Path, version: str, tag: str) -> None:
    post(admin, *form_for(tmp_path, "cost-demo", version, f"cost_demo-{version}-{tag}.whl"))


def release(admin, tmp_path: Path, meter: WorkMeter, number: int) -> tuple[Work, Work]:
    """Upload release 1.0.*number* as two wheels: the first publishes it, the second appends."""
    version = f"1.0.{number}"
    with meter.measure() as publish:
        upload(admin, tmp_path, version, TAGS[0])
    with meter.measure() as append:
        upload(admin, tmp_path, version, TAGS[1])
    return publish, append


def assert_same_cost(early: list[Work], late: list[Work]) -> None:
    least_early, least_late = Work.least(early), Work.least(late)
    assert least_late.statements == least_early.statements, (least_early, least_late)
    assert least_late.rows == least_early.rows, (least_early, least_late)
    # Walking the 45 releases in between would add hundreds of instructions.
    assert least_late.steps <= least_early.steps + 20, (least_early, least_late)


def test_the_fiftieth_release_costs_what_the_fifth_did(admin, repo, services, tmp_path):
    meter = WorkMeter(services.engine)
    costs = [release(admin, tmp_path, meter, n) for n in range(1, 51)]
    early, late = costs[2:7], costs[45:50]  # around the 5th and the 50th
    assert_same_cost([c[0] for c in early], [c[0] for c in late])  # a new release
    assert_same_cost([c[1] for c in early], [c[1] for c in late])  # a file added to it


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite's one write lock
def test_an_upload_takes_the_write_lock_only_to_store(admin, repo, services, tmp_path):
    """Authorizing an upload only reads: on SQLite it does not queue for the write lock.

    Each turn at SQLite's one write lock waits for every concurrent upload's; the
    turns left are the wheel's blob record and the metadata file's with the release.
    """
    upload(admin, tmp_path, "1.0.0", TAGS[0])  # the token and the grants read once
    begun: list[str] = []

    def on_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(services.engine, "before_cursor_execute", on_statement)
    try:
        upload(admin, tmp_path, "1.0.1", TAGS[0])
    finally:
        event.remove(services.engine, "before_cursor_execute", on_statement)
    assert begun[0] == "BEGIN", begun  # the authorization: deferred
    assert begun.count("BEGIN IMMEDIATE") == 2, begun
