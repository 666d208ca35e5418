"""The distribution protocol through the app: pushes, pulls, tags, uploads, errors."""

from __future__ import annotations

import json

from oci_images import OCI_INDEX, OCI_MANIFEST, digest, make_image, make_index


def test_version_check_answers_the_api_version(registry, anonymous):
    ok = registry.request("GET", "/v2/")
    assert ok.status_code == 200
    assert ok.headers["docker-distribution-api-version"] == "registry/2.0"
    refused = anonymous.client.simulate_get("/v2/")
    assert refused.status_code == 401
    assert "www-authenticate" in refused.headers
    assert refused.json["errors"][0]["code"] == "UNAUTHORIZED"


def test_push_then_pull_by_tag_and_digest(registry):
    image = make_image()
    pushed = registry.push_image("team/app", image, "1.0")
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["docker-content-digest"] == image.digest
    for ref in ("1.0", image.digest):
        got = registry.request("GET", registry.url("team/app", f"manifests/{ref}"))
        assert got.status_code == 200, got.text
        assert got.content == image.manifest
        assert got.headers["content-type"] == OCI_MANIFEST
        assert got.headers["docker-content-digest"] == image.digest
    head = registry.request("HEAD", registry.url("team/app", "manifests/1.0"))
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(image.manifest))
    for blob in image.blobs:
        got = registry.request("GET", registry.url("team/app", f"blobs/{digest(blob)}"))
        assert got.content == blob
        assert got.headers["docker-content-digest"] == digest(blob)
    part = registry.request(
        "GET",
        registry.url("team/app", f"blobs/{digest(image.layers[0])}"),
        headers={"Range": "bytes=5-9"},
    )
    assert part.status_code == 206
    assert part.content == image.layers[0][5:10]


def test_chunked_upload_with_status_and_out_of_order_chunk(registry):
    data = bytes(range(256)) * 40
    started = registry.request("POST", registry.url("img", "blobs/uploads/"))
    assert started.status_code == 202
    location = started.headers["location"]
    path, _, _ = location.partition("?")
    first = registry.request(
        "PATCH",
        path,
        data[:4000],
        headers={"Content-Range": "0-3999", "Content-Type": "application/octet-stream"},
    )
    assert first.status_code == 202, first.text
    assert first.headers["range"] == "0-3999"
    status = registry.request("GET", first.headers["location"])
    assert status.status_code == 204
    assert status.headers["range"] == "0-3999"
    wrong = registry.request(
        "PATCH", first.headers["location"], data[5000:6000], headers={"Content-Range": "5000-5999"}
    )
    assert wrong.status_code == 416
    second = registry.request(
        "PATCH", first.headers["location"], data[4000:8000], headers={"Content-Range": "4000-7999"}
    )
    assert second.headers["range"] == "0-7999"
    done = registry.request(
        "PUT", second.headers["location"], data[8000:], params={"digest": digest(data)}
    )
    assert done.status_code == 201, done.text
    got = registry.request("GET", registry.url("img", f"blobs/{digest(data)}"))
    assert got.content == data


def test_a_cancelled_upload_is_unknown_afterwards(registry):
    data = b"cancelled " * 100
    started = registry.request("POST", registry.url("img", "blobs/uploads/"))
    first = registry.request(
        "PATCH", started.headers["location"], data[:500], headers={"Content-Range": "0-499"}
    )
    assert first.status_code == 202, first.text
    location = first.headers["location"]
    cancelled = registry.request("DELETE", location)
    assert cancelled.status_code == 204, cancelled.text
    attempts = {
        "status": registry.request("GET", location),
        "chunk": registry.request(
            "PATCH", location, data[500:], headers={"Content-Range": "500-999"}
        ),
        "finish": registry.request("PUT", location, data[500:], params={"digest": digest(data)}),
        "cancel again": registry.request("DELETE", location),
        "the first location": registry.request("GET", started.headers["location"]),
    }
    for what, answer in attempts.items():
        assert answer.status_code == 404, (what, answer.text)
        assert answer.json["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN", what
    assert registry.request("HEAD", registry.url("img", f"blobs/{digest(data)}")).status_code == 404
    # Another upload of the same bytes is not affected.
    again = registry.request("POST", registry.url("img", "blobs/uploads/"))
    assert registry.request("GET", again.headers["location"]).status_code == 204
    done = registry.request("PUT", again.headers["location"], data, params={"digest": digest(data)})
    assert done.status_code == 201, done.text


def test_tags_list_paginates_with_link(registry):
    image = make_image()
    registry.push_image("app", image, "a")
    for tag in ("b", "c", "1.0"):
        assert registry.push_manifest("app", tag, image.manifest).status_code == 201
    everything = registry.request("GET", registry.url("app", "tags/list"))
    assert everything.json == {"name": "containers/app", "tags": ["1.0", "a", "b", "c"]}
    first = registry.request("GET", registry.url("app", "tags/list"), params={"n": "2"})
    assert first.json["tags"] == ["1.0", "a"]
    assert first.headers["link"] == '</v2/containers/app/tags/list?n=2&last=a>; rel="next"'
    rest = registry.request("GET", registry.url("app", "tags/list"), params={"n": "2", "last": "a"})
    assert rest.json["tags"] == ["b", "c"]
    assert "link" not in rest.headers


def test_index_and_referrers(registry):
    amd, arm = make_image("amd"), make_image("arm")
    registry.push_image("multi", amd, "amd")
    registry.push_image("multi", arm, "arm")
    index = make_index(amd, arm)
    pushed = registry.push_manifest("multi", "1.0", index, OCI_INDEX)
    assert pushed.status_code == 201, pushed.text
    got = registry.request("GET", registry.url("multi", "manifests/1.0"))
    assert got.headers["content-type"] == OCI_INDEX
    sbom = make_image("sbom", layers=1, subject=amd.manifest, artifact_type="application/spdx+json")
    for blob in sbom.blobs:
        registry.push_blob("multi", blob)
    attached = registry.push_manifest("multi", sbom.digest, sbom.manifest)
    assert attached.status_code == 201, attached.text
    assert attached.headers["oci-subject"] == amd.digest
    listed = registry.request("GET", registry.url("multi", f"referrers/{amd.digest}"))
    assert listed.headers["content-type"] == OCI_INDEX
    assert [m["digest"] for m in listed.json["manifests"]] == [sbom.digest]
    assert listed.json["manifests"][0]["artifactType"] == "application/spdx+json"
    filtered = registry.request(
        "GET",
        registry.url("multi", f"referrers/{amd.digest}"),
        params={"artifactType": "application/other"},
    )
    assert filtered.json["manifests"] == []
    assert filtered.headers["oci-filters-applied"] == "artifactType"


def test_manifest_referencing_a_missing_blob_is_refused_and_stores_nothing(registry, admin):
    image = make_image()
    registry.push_blob("app", image.config)  # the layers never arrive
    refused = registry.push_manifest("app", "1.0", image.manifest)
    assert refused.status_code == 400
    assert refused.json["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert registry.request("GET", registry.url("app", "manifests/1.0")).status_code == 404
    assert admin.get("/v1/repos/containers/packages").json["packages"] == []


def test_delete_by_digest_and_tag(registry):
    image = make_image()
    registry.push_image("app", image, "1.0")
    registry.push_manifest("app", "latest", image.manifest)
    untag = registry.request("DELETE", registry.url("app", "manifests/latest"))
    assert untag.status_code == 202
    assert registry.request("GET", registry.url("app", "manifests/latest")).status_code == 404
    gone = registry.request("DELETE", registry.url("app", f"manifests/{image.digest}"))
    assert gone.status_code == 202
    missing = registry.request("GET", registry.url("app", f"manifests/{image.digest}"))
    assert missing.status_code == 404
    assert missing.json["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_error_bodies_are_the_specs(registry):
    bad = registry.request("GET", registry.url("app", "blobs/sha256:nothex"))
    assert bad.status_code == 400
    assert json.loads(bad.text)["errors"][0]["code"] == "DIGEST_INVALID"
