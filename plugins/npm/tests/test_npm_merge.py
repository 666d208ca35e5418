"""Merging members' packuments for a virtual repository, and rebasing tarball URLs."""

from __future__ import annotations

from typing import Any

from artifortress_npm.merge import MemberDocument, merge_packuments, rebased


def document(versions: dict[str, str], tags: dict[str, str], **time: str) -> dict[str, Any]:
    """A packument whose versions carry *versions*' values as their integrity."""
    return {
        "name": "p",
        "_rev": "3-abc",
        "dist-tags": tags,
        "versions": {v: {"version": v, "dist": {"integrity": i}} for v, i in versions.items()},
        "time": time,
    }


def test_the_first_member_wins_a_version_and_hosted_members_win_tags() -> None:
    remote = document(
        {"1.0.0": "remote", "2.0.0": "remote"},
        {"latest": "2.0.0", "next": "2.0.0"},
        created="2019-01-01T00:00:00.000Z",
        modified="2024-01-01T00:00:00.000Z",
    )
    hosted = document(
        {"1.0.0": "hosted", "1.1.0": "hosted"},
        {"latest": "1.1.0"},
        created="2020-01-01T00:00:00.000Z",
        modified="2021-01-01T00:00:00.000Z",
    )
    merged = merge_packuments([MemberDocument(remote, False), MemberDocument(hosted, True)])
    integrity = {v: doc["dist"]["integrity"] for v, doc in merged["versions"].items()}
    assert integrity == {"1.0.0": "remote", "2.0.0": "remote", "1.1.0": "hosted"}
    assert merged["dist-tags"] == {"latest": "1.1.0", "next": "2.0.0"}
    assert merged["time"]["created"] == "2019-01-01T00:00:00.000Z"
    assert merged["time"]["modified"] == "2024-01-01T00:00:00.000Z"
    assert "_rev" not in merged


def test_one_member_is_passed_through_and_tags_need_a_merged_version() -> None:
    only = document({"1.0.0": "a"}, {"latest": "1.0.0", "gone": "0.9.0"})
    merged = merge_packuments([MemberDocument(only, False)])
    assert merged["_rev"] == "3-abc"
    assert merged["dist-tags"] == {"latest": "1.0.0"}


def test_rebased_points_every_tarball_at_the_gateway_and_keeps_the_rest() -> None:
    upstream = {
        "name": "@s/p",
        "versions": {
            "1.0.0": {"dist": {"tarball": "https://elsewhere/x.tgz", "shasum": "ab"}},
            "2.0.0": {"no": "dist"},
        },
    }
    moved = rebased(upstream, "@s/p", "http://gw/npm/all/")
    assert moved["versions"]["1.0.0"]["dist"] == {
        "tarball": "http://gw/npm/all/@s/p/-/p-1.0.0.tgz",
        "shasum": "ab",
    }
    assert moved["versions"]["2.0.0"] == {"no": "dist"}
    assert upstream["versions"]["1.0.0"]["dist"]["tarball"] == "https://elsewhere/x.tgz"
