"""Publish documents against the stored package, and metadata-only updates."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import (
    SERVER_KEYS,
    PublishRequest,
    check_publish,
    check_tarball_manifest,
    has_attachments,
    has_install_script,
    normalize_version_manifest,
)
from artifortress_npm.metadata import check_metadata_update
from artifortress_npm.packument import build_packument
from artifortress_npm.publish_body import parse_publish_body
from artifortress_npm.state import PackageState
from npm_testkit import Published, make_state


def parsed(published: Published) -> dict[str, Any]:
    body = published.body
    result = parse_publish_body(
        io.BytesIO(body), lambda name: io.BytesIO(), content_length=len(body), max_body_size=1 << 24
    )
    return result.document


def publish_doc(name: str = "pkg", version: str = "1.1.0", **extra: Any) -> dict[str, Any]:
    """A publish document like libnpmpublish builds (attachment data already a size)."""
    document: dict[str, Any] = {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "_id": f"{name}@{version}"}},
        "access": None,
        "_attachments": {f"{name}-{version}.tgz": {"data": 10, "length": 10}},
    }
    document.update(extra)
    return document


def test_real_npm_publish_documents(published: dict[str, Published]) -> None:
    scoped = check_publish("@acme/hello", parsed(published["@acme/hello"]), set())
    assert (scoped.name, scoped.version) == ("@acme/hello", "1.0.0")
    assert scoped.tarball == "@acme/hello-1.0.0.tgz"
    assert scoped.provenance is None
    assert scoped.dist_tags == {"beta": "1.0.0"}
    assert scoped.access == "public"
    plain = check_publish("plain-pkg", parsed(published["plain-pkg"]), set())
    assert plain.dist_tags == {"latest": "2.0.0"}
    assert plain.manifest["dependencies"] == {"@acme/hello": "^1.0.0"}


def test_publish_after_a_409_carries_current_versions_which_are_ignored() -> None:
    state = make_state(versions=("1.0.0",))
    current = json.loads(build_packument(state, "http://r/").full.body)
    retry = copy.deepcopy(current)  # libnpmpublish's patchMetadata: current + the new one
    new = publish_doc()
    retry["versions"].update(new["versions"])
    retry["dist-tags"].update(new["dist-tags"])
    retry["_attachments"] = new["_attachments"]
    request = check_publish("pkg", retry, state.all_version_numbers())
    assert request.version == "1.1.0"
    assert request.dist_tags == {"latest": "1.1.0"}


def test_provenance_attachment_is_accepted() -> None:
    document = publish_doc()
    document["_attachments"]["pkg-1.1.0.sigstore"] = {"data": 5}
    assert check_publish("pkg", document, set()).provenance == "pkg-1.1.0.sigstore"


@pytest.mark.parametrize("version", ["1.0.0", "0.9.0"])
def test_used_version_numbers_are_403(version: str) -> None:
    state = make_state(versions=("1.0.0",), unpublished={"0.9.0": "2023-01-01T00:00:00+00:00"})
    with pytest.raises(NpmError) as info:
        check_publish("pkg", publish_doc(version=version), state.all_version_numbers())
    assert info.value.status == 403
    assert info.value.message == (
        f"cannot publish over the previously published versions: {version}."
    )


def bad(document: dict[str, Any], *, drop: str | None = None) -> dict[str, Any]:
    if drop:
        del document[drop]
    return document


def two_versions() -> dict[str, Any]:
    document = publish_doc()
    document["versions"]["1.2.0"] = {"name": "pkg", "version": "1.2.0"}
    return document


def with_attachments(names: list[str]) -> dict[str, Any]:
    return publish_doc(_attachments={name: {"data": 1} for name in names})


def with_manifest(**fields: Any) -> dict[str, Any]:
    document = publish_doc()
    document["versions"]["1.1.0"].update(fields)
    return document


@pytest.mark.parametrize(
    ("url_name", "document", "message"),
    [
        ("Pkg", publish_doc(name="Pkg"), "capital letters"),
        ("pkg", publish_doc(name="other"), "does not match URL name"),
        ("pkg", publish_doc(_id="other"), "_id 'other' does not match"),
        ("pkg", bad(publish_doc(), drop="name"), "does not match URL name"),
        ("pkg", bad(publish_doc(), drop="_attachments"), "no attachments"),
        ("pkg", publish_doc(versions={}), "no versions"),
        ("pkg", two_versions(), "exactly one version"),
        ("pkg", with_attachments(["pkg-9.9.9.tgz"]), "does not match any version"),
        ("pkg", with_attachments(["pkg-1.1.0.tgz", "pkg-1.2.0.tgz"]), "exactly one .tgz"),
        ("pkg", with_attachments(["pkg-1.1.0.sigstore"]), "exactly one .tgz"),
        ("pkg", with_attachments(["pkg-1.1.0.tgz", "x.sigstore"]), "does not match pkg@1.1.0"),
        ("pkg", publish_doc(version="1.1"), "invalid version"),
        ("pkg", with_manifest(name="other"), "must have name"),
        ("pkg", with_manifest(version="1.1.1"), "must have name"),
        ("pkg", publish_doc(**{"dist-tags": {"1.0": "1.1.0"}}), "invalid dist-tag"),
        ("pkg", publish_doc(**{"dist-tags": []}), "dist-tags must be an object"),
    ],
)
def test_bad_publish_documents_are_400(
    url_name: str, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(NpmError) as info:
        check_publish(url_name, document, set())
    assert info.value.status == 400
    assert message in info.value.message


def test_without_a_tag_for_the_new_version_latest_is_used() -> None:
    document = publish_doc(**{"dist-tags": {"latest": "0.1.0"}})
    assert check_publish("pkg", document, set()).dist_tags == {"latest": "1.1.0"}


def request(manifest: dict[str, Any]) -> PublishRequest:
    return PublishRequest(
        "pkg", "1.1.0", manifest, "pkg-1.1.0.tgz", None, {"latest": "1.1.0"}, None
    )


@pytest.mark.parametrize(
    ("tarball_manifest", "message"),
    [
        ({"name": "pkg", "version": "1.1.0"}, None),
        ({"name": "pkg", "version": "v1.1.0"}, None),  # semver.clean'ed by the client
        ({"name": "other", "version": "1.1.0"}, "names 'other'"),
        ({"version": "1.1.0"}, "names None"),
        ({"name": "pkg", "version": "1.1.1"}, "has version '1.1.1'"),
    ],
)
def test_tarball_manifest_must_match(tarball_manifest: dict[str, Any], message: str | None) -> None:
    if message is None:
        check_tarball_manifest(request({}), tarball_manifest)
        return
    with pytest.raises(NpmError, match=message):
        check_tarball_manifest(request({}), tarball_manifest)


def test_normalize_drops_server_keys_and_moves_the_readme_out() -> None:
    sent = {key: "client value" for key in SERVER_KEYS}
    sent.update({"name": "pkg", "version": "1.1.0", "readme": "# Hi", "readmeFilename": "R.md"})
    sent.update({"main": "x.js", "_npmVersion": "11.0.0", "gitHead": "abc"})
    normalized = normalize_version_manifest(request(sent), npm_user={"name": "bob", "email": "b@x"})
    assert normalized.manifest == {
        "name": "pkg",
        "version": "1.1.0",
        "main": "x.js",
        "_npmVersion": "11.0.0",
        "gitHead": "abc",
        "_npmUser": {"name": "bob", "email": "b@x"},
    }
    assert (normalized.readme, normalized.readme_filename) == ("# Hi", "R.md")
    assert not normalized.has_install_script


@pytest.mark.parametrize(
    ("manifest", "gyp", "expected"),
    [
        ({"scripts": {"postinstall": "node x"}}, False, True),
        ({"scripts": {"preinstall": "x"}}, False, True),
        ({"scripts": {"test": "x", "prepare": "y"}}, False, False),
        ({}, True, True),
        ({"gypfile": False}, True, False),
        ({"scripts": "nonsense"}, False, False),
    ],
)
def test_has_install_script(manifest: dict[str, Any], gyp: bool, expected: bool) -> None:
    assert has_install_script(manifest, has_binding_gyp=gyp) is expected


# -- metadata updates -------------------------------------------------------------------


def served(state: PackageState) -> dict[str, Any]:
    """The full packument a client got with ?write=true."""
    return json.loads(build_packument(state, "http://registry.test/npm/r/").full.body)


def test_deprecate_changes_only_the_deprecation() -> None:
    state = make_state(versions=("1.0.0", "1.1.0", "2.0.0"))
    document = served(state)
    for version in ("1.0.0", "1.1.0"):  # what `npm deprecate pkg@"<2" "use 2"` does
        document["versions"][version]["deprecated"] = "use 2"
    changes = check_metadata_update("pkg", document, state, allow_unpublish=False)
    assert changes.deprecations == {"1.0.0": "use 2", "1.1.0": "use 2"}
    assert changes.unpublished == frozenset()
    assert changes.dist_tags is None
    assert changes.rev == document["_rev"]
    assert not changes.is_empty


def test_undeprecate_with_an_empty_message_or_by_removal() -> None:
    state = make_state(versions=("1.0.0", "1.1.0"), deprecated={"1.0.0": "old", "1.1.0": "old"})
    document = served(state)
    assert document["versions"]["1.0.0"]["deprecated"] == "old"
    document["versions"]["1.0.0"]["deprecated"] = ""
    del document["versions"]["1.1.0"]["deprecated"]
    changes = check_metadata_update("pkg", document, state, allow_unpublish=False)
    assert changes.deprecations == {"1.0.0": None, "1.1.0": None}


def test_unchanged_document_is_an_empty_update() -> None:
    state = make_state(versions=("1.0.0",), deprecated={"1.0.0": "old"})
    changes = check_metadata_update("pkg", served(state), state, allow_unpublish=False)
    assert changes.is_empty


def unpublish_document(state: PackageState, version: str) -> dict[str, Any]:
    """What libnpmpublish's unpublish PUTs to /{name}/-rev/{rev}."""
    document = served(state)
    del document["versions"][version]
    for tag, tagged in list(document["dist-tags"].items()):
        if tagged == version:
            del document["dist-tags"][tag]
    if "latest" not in document["dist-tags"]:
        document["dist-tags"]["latest"] = sorted(document["versions"])[-1]
    return document


def test_unpublish_flow_drops_a_version_and_its_tags() -> None:
    state = make_state(versions=("1.0.0", "2.0.0"), tags={"latest": "2.0.0", "next": "2.0.0"})
    document = unpublish_document(state, "2.0.0")
    changes = check_metadata_update("pkg", document, state, allow_unpublish=True)
    assert changes.unpublished == {"2.0.0"}
    assert changes.dist_tags == {"latest": "1.0.0"}
    assert changes.deprecations == {}


def test_dropped_versions_outside_the_unpublish_flow_are_refused() -> None:
    state = make_state(versions=("1.0.0", "2.0.0"))
    with pytest.raises(NpmError, match=r"2\.0\.0 are missing from the document"):
        check_metadata_update(
            "pkg", unpublish_document(state, "2.0.0"), state, allow_unpublish=False
        )


def rewritten(state: PackageState) -> dict[str, Any]:
    document = served(state)
    document["versions"]["1.0.0"]["dependencies"] = {"evil": "*"}
    document["versions"]["1.0.0"]["deprecated"] = "also deprecating"
    return document


def added(state: PackageState, version: str) -> dict[str, Any]:
    document = served(state)
    document["versions"][version] = {"name": "pkg", "version": version}
    return document


def with_tags(state: PackageState, tags: dict[str, str]) -> dict[str, Any]:
    document = served(state)
    document["dist-tags"] = tags
    return document


def everything_removed(state: PackageState) -> dict[str, Any]:
    document = served(state)
    document["versions"], document["dist-tags"] = {}, {}
    return document


STATE = make_state(versions=("1.0.0",), unpublished={"0.1.0": "2023-01-01T00:00:00+00:00"})


@pytest.mark.parametrize(
    ("document", "status", "message"),
    [
        (rewritten(STATE), 400, "was modified (dependencies)"),
        (added(STATE, "3.0.0"), 400, "3.0.0 has no tarball attachment"),
        (added(STATE, "0.1.0"), 403, "previously published versions: 0.1.0"),
        (with_tags(STATE, {"latest": "9.9.9"}), 400, "points to '9.9.9'"),
        (with_tags(STATE, {"beta": "1.0.0"}), 400, "must keep 'latest'"),
        (with_tags(STATE, {"latest": "1.0.0", "1.x": "1.0.0"}), 400, "invalid dist-tag"),
        (everything_removed(STATE), 400, "cannot remove every version"),
        ({**served(STATE), "name": "other"}, 400, "does not match URL name"),
        ({**served(STATE), "_attachments": {"pkg-1.0.0.tgz": {}}}, 400, "no attachments"),
        ({**served(STATE), "versions": []}, 400, "versions must be an object"),
    ],
)
def test_refused_metadata_updates(document: dict[str, Any], status: int, message: str) -> None:
    with pytest.raises(NpmError) as info:
        check_metadata_update("pkg", document, STATE, allow_unpublish=True)
    assert info.value.status == status
    assert message in info.value.message


def test_dist_tags_only_update_without_versions() -> None:
    state = make_state(versions=("1.0.0", "2.0.0"))
    document = {"name": "pkg", "dist-tags": {"latest": "2.0.0", "stable": "1.0.0"}}
    changes = check_metadata_update("pkg", document, state, allow_unpublish=False)
    assert changes.dist_tags == {"latest": "2.0.0", "stable": "1.0.0"}
    assert (changes.deprecations, changes.unpublished) == ({}, frozenset())


def test_has_attachments() -> None:
    assert has_attachments(publish_doc())
    assert not has_attachments({"_attachments": {}})
    assert not has_attachments({})
