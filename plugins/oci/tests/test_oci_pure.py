"""The pure protocol modules on strings and bytes alone: names, manifests, uploads, scopes."""

from __future__ import annotations

import json

import pytest
from artifortress_oci.auth import challenge, parse_scopes
from artifortress_oci.errors import OciError
from artifortress_oci.manifests import OCI_INDEX, parse_manifest
from artifortress_oci.names import (
    BLOBS,
    MANIFESTS,
    TAGS,
    UPLOADS,
    label_of,
    paginate,
    parse_endpoint,
    tag_of,
)
from artifortress_oci.uploads import UploadState, check_content_range
from oci_images import digest, make_image, make_index

D = digest(b"x")


@pytest.mark.parametrize(
    ("rest", "image", "kind", "reference"),
    [
        ("team/app/manifests/1.0", "team/app", MANIFESTS, "1.0"),
        (f"app/blobs/{D}", "app", BLOBS, D),
        ("a/b/c/blobs/uploads/", "a/b/c", UPLOADS, ""),
        ("app/blobs/uploads", "app", UPLOADS, ""),
        ("app/blobs/uploads/ref.1.x", "app", UPLOADS, "ref.1.x"),
        ("app/tags/list", "app", TAGS, ""),
        ("blobs/manifests/manifests/1", "blobs/manifests", MANIFESTS, "1"),
    ],
)
def test_endpoints(rest: str, image: str, kind: str, reference: str) -> None:
    found = parse_endpoint("repo", rest)
    assert (found.image, found.kind, found.reference) == (image, kind, reference)


@pytest.mark.parametrize("rest", ["app", "app/manifests", "app/tags/other", "app/blobs/a/b"])
def test_no_endpoint_is_404(rest: str) -> None:
    with pytest.raises(OciError) as raised:
        parse_endpoint("repo", rest)
    assert (raised.value.code, raised.value.status) == ("NAME_UNKNOWN", 404)


def test_tags_and_labels_round_trip() -> None:
    assert tag_of(label_of("1.0")) == "1.0"
    assert tag_of("latest") is None  # a label that keeps no tag
    with pytest.raises(OciError):
        label_of("x" * 64)


def test_paginate() -> None:
    names = ["a", "b", "c"]
    assert paginate(names, None, None) == (names, None)
    assert paginate(names, "a", "1") == (["b"], "n=1&last=b")
    assert paginate(names, None, "0") == ([], None)
    with pytest.raises(OciError):
        paginate(names, None, "1e3")


def test_an_image_manifest_and_an_index_are_read() -> None:
    image = make_image()
    read = parse_manifest(image.manifest, "application/vnd.oci.image.manifest.v1+json; x=y")
    assert read.digest == image.digest
    assert [b.digest for b in read.blobs] == [digest(b) for b in image.blobs]
    index = parse_manifest(make_index(image), None)
    assert (index.media_type, index.is_index, index.blobs) == (OCI_INDEX, True, ())
    assert [c.digest for c in index.children] == [image.digest]


@pytest.mark.parametrize(
    "change",
    [
        {"config": None},
        {"layers": {}},
        {"config": {"mediaType": "x", "digest": "nope", "size": 1}},
        {"config": {"mediaType": "x", "digest": D, "size": -1}},
        {"config": {"mediaType": "x", "digest": D, "size": True}},
        {"annotations": {"a": 1}},
        {"artifactType": 3},
        {"mediaType": 7},
    ],
)
def test_malformed_manifests_are_manifest_invalid(change: dict[str, object]) -> None:
    document = json.loads(make_image().manifest) | change
    with pytest.raises(OciError) as raised:
        parse_manifest(json.dumps(document).encode(), None)
    assert raised.value.code == "MANIFEST_INVALID"


def test_upload_state_round_trips_and_refuses_forgeries() -> None:
    state = UploadState.new().with_chunk(D, 10).with_chunk(digest(b"y"), 5)
    assert UploadState.parse(state.reference) == state
    assert state.range == "0-14"
    assert UploadState.new().range == "0-0"
    for forged in [
        "",
        "short.0.",
        f"{state.id}.0.{state.reference.split('.')[2]}",
        "a" * 16 + ".5.",
    ]:
        with pytest.raises(OciError):
            UploadState.parse(forged)
    assert check_content_range("15-19", state) == 5
    with pytest.raises(OciError) as raised:
        check_content_range("10-19", state)
    assert raised.value.status == 416


def test_scopes_and_challenges() -> None:
    scope = parse_scopes(["repository:containers/team/app:pull repository:base/x:pull"])
    assert (scope.repos, scope.writes) == (frozenset({"containers", "base"}), False)
    assert parse_scopes(["repository:containers/app:pull,push"]).writes
    assert parse_scopes(["registry:catalog:*"]).repos is None
    assert parse_scopes(["junk", "repository::pull"]).repos == frozenset()
    value = challenge("http://h/v2/_token", "h", "/v2/c/app/blobs/uploads/", "POST")
    assert value == (
        'Bearer realm="http://h/v2/_token",service="h",scope="repository:c/app:pull,push"'
    )
