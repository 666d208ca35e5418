"""Built-in policy rules as pure functions: edit distance, typosquat thresholds.

Licenses have their own tests: test_policy_licenses.py.
"""

from __future__ import annotations

import pytest

from artifortress.outbox.services import backoff
from artifortress.policy.builtin import (
    damerau_levenshtein,
    name_distance,
    typosquat_distance,
)
from artifortress.policy.decisions import ALLOW, QUARANTINE, REJECT, PolicyDecision, combine


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("requests", "requests", 0),
        ("requests", "reqeusts", 1),  # transposition
        ("requests", "request", 1),  # deletion
        ("requests", "requestss", 1),  # insertion
        ("requests", "requezts", 1),  # substitution
        ("requests", "rqeuests", 1),
        ("numpy", "nunpy", 1),
        ("django", "djnago", 1),
        ("django", "flask", 5),
        ("", "abc", 3),
        ("ca", "abc", 3),  # optimal string alignment, not unrestricted Damerau
    ],
)
def test_damerau_levenshtein(a, b, distance):
    assert damerau_levenshtein(a, b) == distance
    assert damerau_levenshtein(b, a) == distance


def test_the_limit_stops_early_above_it():
    assert damerau_levenshtein("requests", "completely-different", 2) == 3
    assert damerau_levenshtein("abcdef", "abcxyz", 1) == 2


def test_names_equal_but_for_separators_are_one_apart():
    assert name_distance("left-pad", "leftpad", 1) == 1
    assert name_distance("left_pad", "left.pad", 1) == 1
    assert name_distance("Left-Pad", "left-pad", 1) == 0


@pytest.mark.parametrize(
    ("name", "limit"), [("abc", 0), ("flask", 1), ("requests", 1), ("sqlalchemy", 2)]
)
def test_how_close_a_new_name_may_come_depends_on_its_length(name, limit):
    assert typosquat_distance(name) == limit
    assert typosquat_distance(name, 3) == 3


def test_decisions_combine_by_severity():
    quarantine = PolicyDecision.quarantine("close name", "typosquat")
    reject = PolicyDecision.reject("too big", "max_artifact_size")
    assert combine([]).action == ALLOW
    assert combine([None, PolicyDecision.allow()]).action == ALLOW
    assert combine([quarantine, PolicyDecision.allow()]).reasons == (quarantine,)
    verdict = combine([quarantine, reject, None])
    assert (verdict.action, verdict.reasons) == (REJECT, (reject,))
    assert verdict.message == "max_artifact_size: too big"
    assert combine([quarantine]).action == QUARANTINE
    with pytest.raises(ValueError):
        PolicyDecision.reject("")
    with pytest.raises(ValueError):
        PolicyDecision("maybe")


def test_backoff_doubles_with_jitter_up_to_the_ceiling():
    delays = [backoff(attempt, 1.0, 30.0) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(30.0, 2 ** (attempt - 1))
        assert 0.8 * nominal <= delay <= nominal
    assert backoff(1000, 1.0, 30.0) <= 30.0


def test_numbered_siblings_are_not_typosquats_but_an_added_digit_is():
    assert name_distance("tool1", "tool2", 1) == 2
    assert name_distance("py2compat", "py3compat", 1) == 2
    assert name_distance("requests2", "requests", 1) == 1
