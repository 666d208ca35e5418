"""Checks of the distribution-spec conformance suite, ported as protocol tests.

The suite itself cannot be built here: its current version needs Go 1.21+
(``log/slog``, ``maps``, ``slices``; its go.mod says 1.24) and Debian's Go is
1.19; its 2023 version needs ginkgo v2 (Debian packages v1) and
``bloodorangeio/reggie`` (not packaged). These are its pull, push, content
discovery and deletion checks that the other test modules do not make.
"""

from __future__ import annotations

import json

from oci_images import DOCKER_MANIFEST, OCI_INDEX, digest, make_image

EMPTY = b""


def test_an_empty_blob_and_an_identical_re_push_succeed(registry):
    assert registry.push_blob("app", EMPTY).status_code == 201
    again = registry.push_blob("app", EMPTY)
    assert again.status_code == 201
    head = registry.request("HEAD", registry.url("app", f"blobs/{digest(EMPTY)}"))
    assert (head.status_code, head.headers["content-length"]) == (200, "0")
    assert head.headers["docker-content-digest"] == digest(EMPTY)


def test_post_then_put_with_the_whole_blob(registry):
    data = b"monolithic in two steps"
    started = registry.request("POST", registry.url("app", "blobs/uploads/"))
    assert started.status_code == 202
    assert started.headers["docker-upload-uuid"]
    done = registry.request(
        "PUT",
        started.headers["location"],
        data,
        params={"digest": digest(data)},
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201
    assert done.headers["location"] == f"/v2/containers/app/blobs/{digest(data)}"


def test_a_manifest_pushed_by_digest_with_several_tags(registry):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    pushed = registry.request(
        "PUT",
        registry.url("app", f"manifests/{image.digest}"),
        image.manifest,
        params={"tag": ["one", "two", "three"]},
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert pushed.status_code == 201, pushed.text
    tags = registry.request("GET", registry.url("app", "tags/list")).json["tags"]
    assert tags == ["one", "three", "two"]


def test_a_manifest_pushed_by_digest_alone_has_no_tag(registry):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    assert registry.push_manifest("app", image.digest, image.manifest).status_code == 201
    assert registry.request("GET", registry.url("app", "tags/list")).json["tags"] == []
    head = registry.request("HEAD", registry.url("app", f"manifests/{image.digest}"))
    assert head.status_code == 200


def test_n_zero_is_an_empty_list_without_link(registry):
    registry.push_image("app", make_image(), "1.0")
    empty = registry.request("GET", registry.url("app", "tags/list"), params={"n": "0"})
    assert empty.json["tags"] == []
    assert "link" not in empty.headers
    bad = registry.request("GET", registry.url("app", "tags/list"), params={"n": "-1"})
    assert bad.status_code == 400


def test_a_docker_schema2_manifest_comes_back_with_its_type(registry):
    image = make_image(media_type=DOCKER_MANIFEST)
    pushed = registry.push_image("app", image)
    assert pushed.status_code == 400  # its Content-Type (OCI) differs from its mediaType
    pushed = registry.push_manifest("app", "1.0", image.manifest, DOCKER_MANIFEST)
    assert pushed.status_code == 201, pushed.text
    got = registry.request(
        "GET", registry.url("app", "manifests/1.0"), headers={"Accept": DOCKER_MANIFEST}
    )
    assert got.headers["content-type"] == DOCKER_MANIFEST
    assert got.content == image.manifest


def test_a_referrer_may_come_before_its_subject(registry):
    subject = make_image("subject")
    signature = make_image("sig", layers=1, subject=subject.manifest, artifact_type="x/sig")
    for blob in signature.blobs:
        registry.push_blob("app", blob)
    early = registry.push_manifest("app", signature.digest, signature.manifest)
    assert early.status_code == 201, early.text
    listed = registry.request("GET", registry.url("app", f"referrers/{subject.digest}"))
    assert [m["digest"] for m in listed.json["manifests"]] == [signature.digest]
    assert listed.headers["content-type"] == OCI_INDEX
    nothing = registry.request("GET", registry.url("app", f"referrers/{digest(b'none')}"))
    assert (nothing.status_code, nothing.json["manifests"]) == (200, [])


def test_a_deleted_manifest_is_gone_and_its_tags_with_it(registry):
    image = make_image()
    registry.push_image("app", image, "1.0")
    assert (
        registry.request("DELETE", registry.url("app", f"manifests/{image.digest}")).status_code
        == 202
    )
    for ref in ("1.0", image.digest):
        assert registry.request("HEAD", registry.url("app", f"manifests/{ref}")).status_code == 404
    again = registry.request("DELETE", registry.url("app", f"manifests/{image.digest}"))
    assert again.status_code == 404
    tags = registry.request("GET", registry.url("app", "tags/list"))
    assert tags.status_code == 404 or tags.json["tags"] == []


def test_a_deleted_manifest_pushed_again_by_an_admin_is_restored(registry):
    image = make_image()
    registry.push_image("app", image, "1.0")
    registry.request("DELETE", registry.url("app", f"manifests/{image.digest}"))
    back = registry.push_manifest("app", "1.0", image.manifest)
    assert back.status_code == 201, back.text
    got = registry.request("GET", registry.url("app", "manifests/1.0"))
    assert json.loads(got.content) == json.loads(image.manifest)
