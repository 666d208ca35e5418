"""RecentCache: a per-process LRU bounded by the weight of what it holds."""

from __future__ import annotations

from artifortress.plugin import RecentCache


def test_the_least_recently_used_go_beyond_the_weight():
    recent: RecentCache[list[int]] = RecentCache(len, max_weight=5)
    recent.put("a", [1, 2])
    recent.put("b", [1, 2])
    assert recent.get("a") == [1, 2]  # now the most recently used
    recent.put("c", [1, 2])
    assert recent.get("b") is None
    assert (recent.get("a"), recent.get("c")) == ([1, 2], [1, 2])
    recent.put("huge", list(range(9)))  # more than the bound: kept alone
    assert recent.get("huge") is not None
    assert recent.get("a") is None


def test_a_key_put_twice_keeps_its_first_value_and_weight():
    recent: RecentCache[bytes] = RecentCache(len, max_weight=4)
    recent.put("a", b"ab")
    recent.put("a", b"abcd")
    recent.put("b", b"cd")
    assert (recent.get("a"), recent.get("b")) == (b"ab", b"cd")
