"""The real server: GC of layers, and pushes racing each other.

Layers are kept while a live manifest uses them and collected after
(``artifortress gc``, no grace, no retention); clients pushing the same image at
once all succeed and leave one version. Images go up over HTTP as a client sends them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from oci_images import Image, digest, make_image

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environ = {"ARTIFORTRESS_GC_GRACE": "0s", "ARTIFORTRESS_TOMBSTONE_RETENTION": "0s"}
    with ServerProcess(tmp_path / "home", environ) as running:
        yield running


@pytest.fixture
def session(server: ServerProcess) -> requests.Session:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    http = requests.Session()
    http.auth = ("admin", created.stdout.strip().splitlines()[-1])
    made = http.post(f"{server.base_url}/v1/repos", json={"key": "containers", "format": "oci"})
    assert made.status_code == 201, made.text
    return http


def push(http: requests.Session, base: str, image: Image, tag: str) -> None:
    for blob in image.blobs:
        url = f"{base}/v2/containers/app/blobs/uploads/"
        assert http.post(url, params={"digest": digest(blob)}, data=blob).status_code == 201
    answer = http.put(
        f"{base}/v2/containers/app/manifests/{tag}",
        data=image.manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert answer.status_code == 201, answer.text


def test_gc_takes_the_layers_of_deleted_manifests_only(server, session):
    base = server.base_url
    old = make_image("old", layers=2)
    new = make_image("new", layers=1, shared_layers=(old.layers[0],))  # one layer in common
    push(session, base, old, "old")
    push(session, base, new, "new")
    deleted = session.delete(f"{base}/v2/containers/app/manifests/{old.digest}")
    assert deleted.status_code == 202
    server.cli("gc")

    def status(blob: bytes) -> int:
        return session.head(f"{base}/v2/containers/app/blobs/{digest(blob)}").status_code

    assert status(old.layers[1]) == 404  # only the deleted image used it
    assert status(old.config) == 404
    assert all(status(blob) == 200 for blob in new.blobs)
    got = session.get(f"{base}/v2/containers/app/manifests/new")
    assert got.content == new.manifest


def test_the_same_image_pushed_by_four_clients_at_once_is_one_version(server, session):
    image = make_image("raced", layers=3)
    base = server.base_url
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda tag: push(_twin(session), base, image, tag), ["a", "b", "c", "d"]))
    versions = session.get(f"{base}/v1/repos/containers/packages/app").json()
    assert [v["version"] for v in versions["versions"]] == [image.digest.replace(":", "-")]
    tags = session.get(f"{base}/v2/containers/app/tags/list").json()["tags"]
    assert tags == ["a", "b", "c", "d"]


def _twin(session: requests.Session) -> requests.Session:
    """A session of its own per thread, with the same credentials."""
    twin = requests.Session()
    twin.auth = session.auth
    return twin
