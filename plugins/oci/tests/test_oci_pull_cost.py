"""A pull's requests do the database work they must, and no more.

A blob download reads the blob's row once, then ``sendfile``: no second
lookup of the blob, no ``Repository`` row loaded again (the core resolves and
authorizes the repository, from its per-process cache when it may). A
manifest by tag adds the tag's lookup; by digest it does not.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable

import pytest
from oci_images import OCI_MANIFEST, digest, make_image
from sqlalchemy import Engine, event

_FROM = re.compile(r"\bFROM\s+\"?(\w+)", re.IGNORECASE)


@pytest.fixture
def pushed(registry):
    image = make_image("cost", layers=2)
    assert registry.push_image("app", image).status_code == 201
    return image


def tables_read(engine: Engine, request: Callable[[], object]) -> collections.Counter[str]:
    """How many SELECTs each table led, for the repetition of three that did the fewest."""
    return min((_selects(engine, request) for _ in range(3)), key=lambda c: c.total())


def _selects(engine: Engine, request: Callable[[], object]) -> collections.Counter[str]:
    tables: collections.Counter[str] = collections.Counter()

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        found = _FROM.search(statement)
        if statement.lstrip().upper().startswith("SELECT") and found:
            tables[found[1]] += 1

    event.listen(engine, "before_cursor_execute", note)
    try:
        answer = request()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert answer.status_code == 200  # type: ignore[attr-defined]
    return tables


def test_a_blob_download_reads_the_blob_row_once_and_nothing_else(registry, pushed, services):
    url = registry.url("app", f"blobs/{digest(pushed.layers[0])}")
    for method in ("GET", "HEAD"):
        read = tables_read(services.engine, lambda m=method: registry.request(m, url))
        # The URL's repository comes from the core's per-process cache (within its
        # second): neither the plugin nor the gateway loads a Repository row.
        assert read == collections.Counter({"blobs": 1}), read


def test_a_manifest_by_tag_adds_the_tag_lookup_only(registry, pushed, services):
    accept = {"Accept": OCI_MANIFEST}
    by_tag = registry.url("app", "manifests/1.0")
    by_digest = registry.url("app", f"manifests/{pushed.digest}")
    tagged = tables_read(services.engine, lambda: registry.request("GET", by_tag, headers=accept))
    digested = tables_read(
        services.engine, lambda: registry.request("GET", by_digest, headers=accept)
    )
    assert tagged - digested == collections.Counter({"labels": 1}), (tagged, digested)
    assert digested["artifacts"] == 1, digested
    assert digested.total() <= 2, digested
