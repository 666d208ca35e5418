"""Tags that move (audited) or may not, cross-repository mounts, the catalog, resumed uploads."""

from __future__ import annotations

from oci_images import digest, make_image

from conftest import Registry


def audit_rows(admin, action: str) -> list[dict]:
    return admin.get("/v1/audit", params={"action": action}).json["entries"]


def test_every_re_point_of_a_tag_is_an_audit_row(registry, admin):
    one, two = make_image("one"), make_image("two")
    registry.push_image("app", one, "latest")
    before = len(audit_rows(admin, "label.set"))
    registry.push_image("app", two, "latest")
    registry.push_manifest("app", "latest", two.manifest)  # the same again: no change, no row
    rows = audit_rows(admin, "label.set")
    assert len(rows) == before + 1
    assert rows[0]["target"] == "app:tlatest"
    got = registry.request("GET", registry.url("app", "manifests/latest"))
    assert got.headers["docker-content-digest"] == two.digest


def test_immutable_tags_refuse_a_re_point_and_a_tag_delete(registry, admin):
    policy = admin.put("/v1/repos/containers/policy", {"extra": {"immutable_tags": True}})
    assert policy.status_code == 200, policy.text
    one, two = make_image("one"), make_image("two")
    assert registry.push_image("app", one, "1.0").status_code == 201
    assert registry.push_manifest("app", "1.0", one.manifest).status_code == 201  # same: fine
    moved = registry.push_image("app", two, "1.0")
    assert moved.status_code == 409
    assert moved.json["errors"][0]["code"] == "DENIED"
    unstored = registry.request("HEAD", registry.url("app", f"blobs/{two.digest}"))
    assert unstored.status_code == 404  # the refused manifest's bytes were not kept
    assert registry.push_manifest("app", "2.0", two.manifest).status_code == 201
    untag = registry.request("DELETE", registry.url("app", "manifests/1.0"))
    assert untag.status_code == 409
    got = registry.request("GET", registry.url("app", "manifests/1.0"))
    assert got.headers["docker-content-digest"] == one.digest


def test_a_mount_links_a_blob_the_caller_may_read_and_uploads_otherwise(
    registry, admin, api_factory, make_repo
):
    make_repo("base", format="oci")
    make_repo("private", format="oci")
    shared, secret = b"a base layer", b"a private layer"
    for repo, data in (("base", shared), ("private", secret)):
        Registry(admin, repo).push_blob("img", data)
    dev = Registry(api_factory.as_user("dev", roles={"containers": ["write"], "base": ["read"]}))
    mounted = dev.request(
        "POST",
        dev.url("app", "blobs/uploads/"),
        params={"mount": digest(shared), "from": "base/img"},
    )
    assert mounted.status_code == 201, mounted.text
    assert mounted.headers["location"] == f"/v2/containers/app/blobs/{digest(shared)}"
    assert dev.request("GET", dev.url("app", f"blobs/{digest(shared)}")).content == shared
    refused = dev.request(
        "POST",
        dev.url("app", "blobs/uploads/"),
        params={"mount": digest(secret), "from": "private/img"},
    )
    assert refused.status_code == 202  # a new upload: the bytes must come from the client
    assert dev.request("HEAD", dev.url("app", f"blobs/{digest(secret)}")).status_code == 404
    anywhere = dev.request(
        "POST", dev.url("app", "blobs/uploads/"), params={"mount": digest(secret)}
    )
    assert anywhere.status_code == 202  # without 'from': still only what the caller may read
    other = b"another base layer"
    Registry(admin, "base").push_blob("img", other)
    found = dev.request("POST", dev.url("app", "blobs/uploads/"), params={"mount": digest(other)})
    assert found.status_code == 201


def test_the_catalog_lists_only_what_the_caller_may_read(registry, admin, api_factory, make_repo):
    make_repo("hidden", format="oci")
    make_repo("files", format="generic")
    image = make_image()
    registry.push_image("team/app", image)
    registry.push_image("tool", image)
    Registry(admin, "hidden").push_image("secret", image)
    everything = registry.request("GET", "/v2/_catalog")
    assert everything.json["repositories"] == [
        "containers/team/app",
        "containers/tool",
        "hidden/secret",
    ]
    reader = Registry(api_factory.as_user("reader", roles={"containers": ["read"]}))
    first = reader.request("GET", "/v2/_catalog", params={"n": "1"})
    assert first.json["repositories"] == ["containers/team/app"]
    assert first.headers["link"] == '</v2/_catalog?n=1&last=containers%2Fteam%2Fapp>; rel="next"'
    rest = reader.request("GET", "/v2/_catalog", params={"n": "1", "last": "containers/team/app"})
    assert rest.json["repositories"] == ["containers/tool"]
    assert "link" not in rest.headers
    anonymous = admin.client.simulate_get("/v2/_catalog")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].endswith(',scope="registry:catalog:*"')


def test_an_interrupted_chunk_leaves_the_upload_where_it_was(registry):
    data = bytes(range(200)) * 100
    started = registry.request("POST", registry.url("img", "blobs/uploads/"))
    first = registry.request("PATCH", started.headers["location"], data[:5000])
    cut = registry.request(  # the client announced more than it sent, then went away
        "PATCH",
        first.headers["location"],
        data[5000:6000],
        headers={"Content-Length": "15000", "Content-Range": "5000-19999"},
    )
    assert 400 <= cut.status_code < 500
    status = registry.request("GET", first.headers["location"])
    assert status.headers["range"] == "0-4999"
    rest = registry.request(
        "PATCH", status.headers["location"], data[5000:], headers={"Content-Range": "5000-19999"}
    )
    done = registry.request("PUT", rest.headers["location"], params={"digest": digest(data)})
    assert done.status_code == 201, done.text
    assert registry.request("GET", registry.url("img", f"blobs/{digest(data)}")).content == data


def test_pushed_images_are_found_by_search(registry, admin, drain_events):
    registry.push_image("team/webserver", make_image())
    assert drain_events().retried == 0
    hits = admin.get("/v1/search", params={"q": "webserver"}).json
    assert hits["total"] == 1
