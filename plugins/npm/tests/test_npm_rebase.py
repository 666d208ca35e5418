"""Packuments with their base URL filled in: remembered per content and base, never mixed up."""

from __future__ import annotations

import datetime as dt

from artifortress_npm.packages import _REBASED, BASE_PLACEHOLDER, _Rebased

from artifortress.plugin import Rendered

WHEN = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def packument(version: str) -> Rendered:
    body = f'{{"tarball": "{BASE_PLACEHOLDER}/p/-/p-{version}.tgz"}}'.encode()
    return Rendered(body, "application/json", f'"etag{version}"', WHEN)


def test_each_base_gets_its_own_body_and_etag():
    rebased = _Rebased(size=4, max_bytes=1 << 20)
    one = rebased.get(packument("1"), "http://a.example/npm/js")
    two = rebased.get(packument("1"), "http://b.example/npm/js")
    assert b"http://a.example/npm/js/p/-/p-1.tgz" in one.body
    assert b"http://b.example/npm/js/p/-/p-1.tgz" in two.body
    assert one.etag != two.etag


def test_a_repeat_is_served_from_memory_and_new_content_is_not():
    rebased = _Rebased(size=4, max_bytes=1 << 20)
    first = rebased.get(packument("1"), "http://a.example")
    assert rebased.get(packument("1"), "http://a.example") is first
    changed = rebased.get(packument("2"), "http://a.example")
    assert b"p-2.tgz" in changed.body


def test_the_memory_is_bounded():
    rebased = _Rebased(size=2, max_bytes=1 << 20)
    first = rebased.get(packument("1"), "http://a.example")
    for host in ("b", "c"):
        rebased.get(packument("1"), f"http://{host}.example")
    assert rebased.get(packument("1"), "http://a.example") is not first


def test_the_memory_is_bounded_by_bytes_too():
    rebased = _Rebased(size=100, max_bytes=400)
    first = rebased.get(packument("1"), "http://a.example")  # about 50 bytes each
    for host in "bcdefghij":
        rebased.get(packument("1"), f"http://{host}.example")
    assert rebased.get(packument("1"), "http://a.example") is not first


def test_an_install_s_dependency_tree_stays_in_memory():
    """npm asks for each package of a tree once per install: an LRU smaller than it misses all."""
    tree = [packument(str(number)) for number in range(200)]  # express 4 has 71 packages
    kept = [_REBASED.get(doc, "http://tree.example") for doc in tree]
    assert all(
        _REBASED.get(doc, "http://tree.example") is first
        for doc, first in zip(tree, kept, strict=True)
    )
