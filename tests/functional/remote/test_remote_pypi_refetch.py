"""A PyPI remote after its files were purged and collected: each is fetched again when asked.

Here rather than beside the PyPI plugin's tests: it runs the garbage collector,
which is not part of the plugin API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from artifortress.gc.services import collect
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.pypi_upstream import PypiTree
from tests.support.upstream import Upstream

WHEEL = "foo-1.0-py3-none-any.whl"


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[PypiTree]:
    with Upstream().running() as upstream:
        tree = PypiTree(upstream)
        metadata = metadata_text("foo", "1.0").encode()
        tree.add(make_wheel(tmp_path, WHEEL, metadata, dist_info="foo-1.0.dist-info"))
        yield tree


def test_purged_files_whose_bytes_were_collected_are_fetched_again(
    admin, make_repo, tree, services, monkeypatch
):
    make_repo("pypi-up", format="pypi", kind="remote", upstream={"url": tree.url})
    page = admin.get(
        "/pypi/pypi-up/simple/foo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    (entry,) = page.json["files"]
    url = urljoin("/pypi/pypi-up/simple/foo/", entry["url"])
    wheel = admin.get(url).content
    metadata = admin.get(url + ".metadata").content
    assert admin.delete("/v1/repos/pypi-up/cache", params={"files": "true"}).status_code == 200
    collect(services.sessions, services.blobs, grace_seconds=0, retention_seconds=0)
    # Behind a front proxy a stored file is handed off, never opened here: only the
    # database can say that its bytes are gone.
    monkeypatch.setattr(services, "handoff", lambda digest: f"/_accel/{digest}")
    assert admin.get(url).content == wheel  # fetched as it arrives; restores version 1.0
    assert admin.get(url + ".metadata").content == metadata  # its bytes were collected too
    assert (tree.hits(WHEEL), tree.hits(WHEEL + ".metadata")) == (2, 2)
    version = admin.get("/v1/repos/pypi-up/packages/foo/versions/1.0").json
    assert version["state"] == "published"
    assert "x-accel-redirect" in admin.get(url).headers, "kept again, handed off"
