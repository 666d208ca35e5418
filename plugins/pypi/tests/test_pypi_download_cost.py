"""A download's database work does not grow with the repository.

With 50 projects published, fetching a file costs what it did with 5: the
lookup goes through the package, not through every published version.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from artifortress.testing.dbwork import Work, WorkMeter
from plugins.pypi.tests.test_pypi_upload_cost import form_for, post


@pytest.fixture
def repo(make_repo):
    make_repo("py", format="pypi")


def publish_project(admin, tmp_path: Path, number: int) -> str:
    name, filename = f"proj-{number}", f"proj_{number}-1.0-py3-none-any.whl"
    post(admin, *form_for(tmp_path, name, "1.0", filename))
    return filename


def download(admin, meter: WorkMeter, filename: str) -> Work:
    with meter.measure() as work:
        answer = admin.get(f"/pypi/py/files/proj-1/1.0/{filename}")
    assert answer.status_code == 200
    return work


def test_a_download_costs_the_same_in_a_larger_repository(admin, repo, services, tmp_path):
    meter = WorkMeter(services.engine)
    first = publish_project(admin, tmp_path, 1)
    for number in range(2, 6):
        publish_project(admin, tmp_path, number)
    small = Work.least([download(admin, meter, first) for _ in range(3)])
    for number in range(6, 51):
        publish_project(admin, tmp_path, number)
    large = Work.least([download(admin, meter, first) for _ in range(3)])
    assert large.statements == small.statements, (small, large)
    # Walking the 45 new versions would add hundreds of instructions.
    assert large.steps <= small.steps + 20, (small, large)


def test_a_cached_page_costs_one_read_outside_any_session(admin, repo, services, tmp_path):
    publish_project(admin, tmp_path, 1)
    page = "/pypi/py/simple/proj-1/"
    assert admin.get(page).status_code == 200  # built once; the read decision is kept
    meter = WorkMeter(services.engine)
    checkouts: list[object] = []
    begins: list[object] = []
    event.listen(services.engine.pool, "checkout", lambda *args: checkouts.append(args))
    event.listen(services.engine, "begin", lambda *args: begins.append(args))
    works, reads, sessions = [], [], []
    for _ in range(3):
        checkouts.clear()
        begins.clear()
        with meter.measure() as work:
            answer = admin.get(page)
        assert answer.status_code == 200
        works.append(work)
        reads.append(len(checkouts))
        sessions.append(len(begins))
    # The change counter, read on a pooled connection: one statement, no transaction begun.
    assert Work.least(works).statements == 1, works
    assert min(reads) == 1, reads
    assert min(sessions) == 0, sessions


def test_a_download_opens_no_session_either(admin, repo, services, tmp_path):
    filename = publish_project(admin, tmp_path, 1)
    meter = WorkMeter(services.engine)
    assert download(admin, meter, filename).statements >= 1  # the read decision is now kept
    begins: list[object] = []
    event.listen(services.engine, "begin", lambda *args: begins.append(args))
    works, sessions = [], []
    for _ in range(3):
        begins.clear()
        works.append(download(admin, meter, filename))
        sessions.append(len(begins))
    assert Work.least(works).statements == 1, works  # the file's row, on a pooled connection
    assert min(sessions) == 0, sessions
