"""Bad input gets the spec's error code, and nothing is stored."""

from __future__ import annotations

import base64
import json

import pytest
from oci_images import OCI_MANIFEST, digest, make_image

MiB = 1024 * 1024


def codes(answer) -> list[str]:
    return [error["code"] for error in answer.json["errors"]]


def stored_nothing(admin) -> bool:
    return admin.get("/v1/repos/containers/packages").json["packages"] == []


def test_a_blob_with_the_wrong_digest_is_refused(registry, admin):
    data = b"some layer bytes"
    wrong = digest(b"other bytes")
    monolithic = registry.request(
        "POST", registry.url("app", "blobs/uploads/"), data, params={"digest": wrong}
    )
    assert monolithic.status_code == 400
    assert codes(monolithic) == ["DIGEST_INVALID"]
    started = registry.request("POST", registry.url("app", "blobs/uploads/"))
    finished = registry.request("PUT", started.headers["location"], data, params={"digest": wrong})
    assert (finished.status_code, codes(finished)) == (400, ["DIGEST_INVALID"])
    for blob in (wrong, digest(data)):
        missing = registry.request("HEAD", registry.url("app", f"blobs/{blob}"))
        assert missing.status_code == 404


def test_chunks_completed_with_the_wrong_digest_make_no_blob_of_that_digest(registry):
    started = registry.request("POST", registry.url("app", "blobs/uploads/"))
    first = registry.request("PATCH", started.headers["location"], b"part one ")
    second = registry.request("PATCH", first.headers["location"], b"part two")
    wrong = digest(b"something else")
    done = registry.request("PUT", second.headers["location"], params={"digest": wrong})
    assert (done.status_code, codes(done)) == (400, ["DIGEST_INVALID"])
    assert registry.request("HEAD", registry.url("app", f"blobs/{wrong}")).status_code == 404


@pytest.mark.parametrize(
    "value", ["sha256:abc", "md5:0123", "sha256:" + "A" * 64, "nonsense", "sha512:" + "0" * 128]
)
def test_invalid_or_unsupported_digests_are_digest_invalid(registry, value):
    answer = registry.request(
        "POST", registry.url("app", "blobs/uploads/"), b"x", params={"digest": value}
    )
    assert (answer.status_code, codes(answer)) == (400, ["DIGEST_INVALID"])


def test_an_oversize_manifest_is_413(registry, admin):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    document = json.loads(image.manifest)
    document["annotations"] = {"padding": "x" * (4 * MiB)}
    answer = registry.push_manifest("app", "1.0", json.dumps(document).encode())
    assert answer.status_code == 413
    assert stored_nothing(admin)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/plain", b"untyped", "unsupported manifest media type"),
        ("application/vnd.docker.distribution.manifest.v1+json", b"untyped", "unsupported"),
        ("text/plain", None, "differs from the manifest's mediaType"),
        (OCI_MANIFEST, b"not json", "not JSON"),
        (OCI_MANIFEST, b"[1, 2]", "not a JSON object"),
        (OCI_MANIFEST, b'{"schemaVersion": 1}', "schemaVersion"),
        ("application/vnd.oci.image.index.v1+json", None, "differs from the manifest's mediaType"),
    ],
)
def test_invalid_manifests_are_manifest_invalid(registry, admin, content_type, body, message):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    if body == b"untyped":  # no mediaType: the Content-Type alone says what it is
        untyped = {k: v for k, v in json.loads(image.manifest).items() if k != "mediaType"}
        body = json.dumps(untyped).encode()
    answer = registry.push_manifest("app", "1.0", body or image.manifest, content_type)
    assert (answer.status_code, codes(answer)) == (400, ["MANIFEST_INVALID"])
    assert message in answer.json["errors"][0]["message"]
    assert stored_nothing(admin)


def test_a_layer_of_another_size_than_declared_is_refused(registry, admin):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    document = json.loads(image.manifest)
    document["layers"][0]["size"] += 1
    answer = registry.push_manifest("app", "1.0", json.dumps(document).encode())
    assert (answer.status_code, codes(answer)) == (400, ["MANIFEST_INVALID"])
    assert stored_nothing(admin)


def test_an_index_of_unknown_manifests_is_manifest_blob_unknown(registry, admin):
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest(b"nothing"), "size": 7}],
    }
    answer = registry.push_manifest(
        "app", "1.0", json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json"
    )
    assert (answer.status_code, codes(answer)) == (400, ["MANIFEST_BLOB_UNKNOWN"])
    assert stored_nothing(admin)


def test_a_manifest_put_by_another_digest_is_refused(registry, admin):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    answer = registry.push_manifest("app", digest(b"another"), image.manifest)
    assert (answer.status_code, codes(answer)) == (400, ["DIGEST_INVALID"])
    assert stored_nothing(admin)


@pytest.mark.parametrize(
    "image", ["team/../app", "App", "team//app", "a..b", "-app", "app_", "team/app.", "x" * 300]
)
def test_names_outside_the_grammar_are_name_invalid(registry, admin, image):
    pushed = make_image()
    answer = registry.push_manifest(image, "1.0", pushed.manifest)
    assert (answer.status_code, codes(answer)) == (400, ["NAME_INVALID"])
    blob = registry.push_blob(image, pushed.config)
    assert (blob.status_code, codes(blob)) == (400, ["NAME_INVALID"])
    assert stored_nothing(admin)


@pytest.mark.parametrize("tag", [".hidden", "-dash", "a" * 129, "with:colon", "sp ace", "ü"])
def test_tags_outside_the_grammar_are_refused(registry, admin, tag):
    image = make_image()
    for blob in image.blobs:
        registry.push_blob("app", blob)
    answer = registry.push_manifest("app", tag, image.manifest)
    assert answer.status_code in (400, 404)
    assert codes(answer)[0] in ("MANIFEST_INVALID", "DIGEST_INVALID", "NAME_INVALID")
    assert stored_nothing(admin)


def test_a_repository_of_another_format_is_name_unknown(registry, admin, make_repo):
    make_repo("files", format="generic")
    answer = registry.request("GET", "/v2/files/app/tags/list")
    assert (answer.status_code, codes(answer)) == (404, ["NAME_UNKNOWN"])


def test_unknown_things_are_404_with_their_codes(registry):
    blob = registry.request("GET", registry.url("app", f"blobs/{digest(b'x')}"))
    assert (blob.status_code, codes(blob)) == (404, ["BLOB_UNKNOWN"])
    manifest = registry.request("GET", registry.url("app", "manifests/nope"))
    assert (manifest.status_code, codes(manifest)) == (404, ["MANIFEST_UNKNOWN"])
    tags = registry.request("GET", registry.url("app", "tags/list"))
    assert (tags.status_code, codes(tags)) == (404, ["NAME_UNKNOWN"])
    upload = registry.request("GET", registry.url("app", "blobs/uploads/forged"))
    assert (upload.status_code, codes(upload)) == (404, ["BLOB_UPLOAD_UNKNOWN"])
    blob_delete = registry.request("DELETE", registry.url("app", f"blobs/{digest(b'x')}"))
    assert (blob_delete.status_code, codes(blob_delete)) == (405, ["UNSUPPORTED"])


def test_a_forged_upload_naming_a_blob_of_another_repository_gets_nothing(
    registry, admin, make_repo
):
    make_repo("secret", format="oci")
    secret = b"another team's layer"
    hidden = registry.request(
        "POST", "/v2/secret/app/blobs/uploads/", secret, params={"digest": digest(secret)}
    )
    assert hidden.status_code == 201
    reader = registry  # an upload of its own, with the other blob's digest spliced in
    started = reader.request("POST", reader.url("app", "blobs/uploads/"))
    first = reader.request("PATCH", started.headers["location"], b"mine ")
    second = reader.request("PATCH", first.headers["location"], b"too")
    reference = second.headers["location"].rsplit("/", 1)[1]
    upload_id, _, _ = reference.split(".")
    raw = bytes.fromhex(digest(secret).split(":")[1]) * 2
    forged = f"{upload_id}.{2 * len(secret)}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"
    done = reader.request(
        "PUT", reader.url("app", f"blobs/uploads/{forged}"), params={"digest": digest(secret * 2)}
    )
    assert done.status_code == 404
    assert codes(done) == ["BLOB_UNKNOWN"]


def test_a_remote_oci_repository_says_it_is_not_served(registry, make_repo):
    make_repo("mirror", format="oci", kind="remote", upstream={"url": "https://registry.example/"})
    answer = registry.request("GET", "/v2/mirror/app/manifests/1.0")
    assert (answer.status_code, codes(answer)) == (405, ["UNSUPPORTED"])
    push = registry.request("POST", "/v2/mirror/app/blobs/uploads/")
    assert push.status_code == 405
