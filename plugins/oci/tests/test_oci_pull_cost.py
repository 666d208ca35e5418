"""A pull's requests do the database work they must, and no more.

A blob download is the repository (resolved and authorized by the core) and
the blob's row, then ``sendfile``: no second lookup of the blob or of the
repository's row. A manifest by tag adds the tag's lookup; by digest it does not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from oci_images import OCI_MANIFEST, digest, make_image
from sqlalchemy import Engine, event

#: The repository, the blob (SELECTs; SQLite's BEGIN is not counted).
BLOB_GET = 2
#: The repository, the tag's version, the manifest file.
MANIFEST_BY_TAG = 3
MANIFEST_BY_DIGEST = 2


@pytest.fixture
def pushed(registry):
    image = make_image("cost", layers=2)
    assert registry.push_image("app", image).status_code == 201
    return image


def least(engine: Engine, request: Callable[[], object]) -> int:
    """The fewest SELECTs of three repetitions (a cache refreshing beside one counts too)."""
    return min(_selects(engine, request) for _ in range(3))


def _selects(engine: Engine, request: Callable[[], object]) -> int:
    selects: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        answer = request()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert answer.status_code == 200  # type: ignore[attr-defined]
    return len(selects)


def test_a_blob_download_reads_the_repository_and_the_blob_once(registry, pushed, services):
    url = registry.url("app", f"blobs/{digest(pushed.layers[0])}")
    assert least(services.engine, lambda: registry.request("GET", url)) == BLOB_GET
    assert least(services.engine, lambda: registry.request("HEAD", url)) == BLOB_GET


def test_a_manifest_by_tag_adds_the_tag_lookup_only(registry, pushed, services):
    accept = {"Accept": OCI_MANIFEST}
    by_tag = registry.url("app", "manifests/1.0")
    by_digest = registry.url("app", f"manifests/{pushed.digest}")
    tagged = least(services.engine, lambda: registry.request("GET", by_tag, headers=accept))
    digested = least(services.engine, lambda: registry.request("GET", by_digest, headers=accept))
    assert (tagged, digested) == (MANIFEST_BY_TAG, MANIFEST_BY_DIGEST)
