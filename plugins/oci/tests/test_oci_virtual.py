"""A virtual oci repository: pulls from its members in order, pushes into its upload target."""

from __future__ import annotations

from oci_images import digest, make_image

from conftest import Registry


def test_a_virtual_pulls_from_its_members_and_pushes_into_its_first_hosted_one(
    registry, admin, make_repo
):
    make_repo("base", format="oci")
    make_repo("all", format="oci", kind="virtual", members=["containers", "base"])
    base, mine = make_image("base"), make_image("mine")
    Registry(admin, "base").push_image("library/os", base, "1.0")
    everything = Registry(admin, "all")
    got = everything.request("GET", everything.url("library/os", "manifests/1.0"))
    assert (got.status_code, got.content) == (200, base.manifest)
    layer = everything.request(
        "GET", everything.url("library/os", f"blobs/{digest(base.layers[0])}")
    )
    assert layer.content == base.layers[0]
    pushed = everything.push_image("app", mine, "2.0")
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["location"] == f"/v2/all/app/manifests/{mine.digest}"
    landed = registry.request("GET", registry.url("app", "manifests/2.0"))  # in 'containers'
    assert landed.content == mine.manifest
    tags = everything.request("GET", everything.url("app", "tags/list"))
    assert tags.json == {"name": "all/app", "tags": ["2.0"]}
    refused = everything.request("DELETE", everything.url("app", f"manifests/{mine.digest}"))
    assert refused.status_code == 405


def test_a_virtual_serves_only_what_the_caller_may_read(registry, admin, api_factory, make_repo):
    make_repo("secret", format="oci")
    make_repo("all", format="oci", kind="virtual", members=["containers", "secret"], public=True)
    hidden = make_image("hidden")
    Registry(admin, "secret").push_image("app", hidden, "1.0")
    reader = Registry(api_factory.as_user("reader", roles={"all": ["read"]}), "all")
    answer = reader.request("GET", reader.url("app", "manifests/1.0"))
    assert answer.status_code == 404
    blob = reader.request("GET", reader.url("app", f"blobs/{digest(hidden.config)}"))
    assert blob.status_code == 404
