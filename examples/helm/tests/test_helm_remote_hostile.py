"""A remote Helm repository whose upstream index is malformed: a 502 (or 404), never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from tests.support.upstream import Upstream


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.mark.parametrize(
    "entries",
    [
        ["web"],  # a list, not a mapping of names
        {"web": 5},  # versions not a list
        {"web": [{"version": "1.0.0", "digest": 5, "urls": ["web-1.0.0.tgz"]}]},
        {"web": [{"version": "1.0.0", "urls": {"a": "b"}}]},
        {"web": [{"version": "1.0.0", "urls": [7]}]},
        {"web": [{"version": ["1"], "urls": ["web-1.0.0.tgz"]}]},
    ],
)
def test_a_malformed_index_is_never_a_500(admin, make_repo, upstream, entries):
    index = {"apiVersion": "v1", "entries": entries}
    upstream.serve("/index.yaml", yaml.safe_dump(index).encode(), content_type="text/yaml")
    upstream.serve("/web-1.0.0.tgz", b"chart")
    make_repo("hub", format="helm", kind="remote", upstream={"url": upstream.url})
    listed = admin.get("/helm/hub/index.yaml")
    assert listed.status_code in (200, 502), listed.text
    chart = admin.get("/helm/hub/charts/web-1.0.0.tgz")
    assert chart.status_code in (404, 502), chart.text
