"""State transitions: publish, metadata updates, dist-tags and version removal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import NormalizedVersion
from artifortress_npm.metadata import MetadataChanges
from artifortress_npm.transitions import (
    after_dist_tags,
    after_metadata_update,
    after_publish,
    after_removal,
)
from npm_testkit import make_state

NOW = datetime(2025, 6, 1, tzinfo=UTC)
ALICE = {"name": "alice", "email": "alice@example.com"}


def normalized(readme: str) -> NormalizedVersion:
    return NormalizedVersion({}, readme, "README.md", False)


def test_first_publish_creates_the_package_with_latest() -> None:
    record = make_state(versions=("1.0.0",)).versions["1.0.0"]
    state = after_publish(None, "pkg", record, normalized("# one"), {"beta": "1.0.0"}, now=NOW)
    assert state.dist_tags == {"beta": "1.0.0", "latest": "1.0.0"}
    assert (state.created, state.modified, state.revision) == (NOW, NOW, 1)
    assert state.readme == "# one"
    assert state.maintainers == []


def test_publish_with_a_tag_keeps_latest_and_its_readme() -> None:
    state = make_state(versions=("1.0.0",))
    record = replace(state.versions["1.0.0"], version="2.0.0-rc.1")
    after = after_publish(
        state, "pkg", record, normalized("# rc"), {"next": "2.0.0-rc.1"}, now=NOW, maintainer=ALICE
    )
    assert after.dist_tags == {"latest": "1.0.0", "next": "2.0.0-rc.1"}
    assert after.readme == state.readme
    assert after.revision == state.revision + 1
    assert after.modified == NOW
    assert after.created == state.created
    assert list(after.maintainers) == list(state.maintainers)  # alice is already one
    assert set(after.versions) == {"1.0.0", "2.0.0-rc.1"}
    assert set(state.versions) == {"1.0.0"}  # the input is untouched


def test_publish_of_a_new_latest_takes_its_readme() -> None:
    state = make_state(versions=("1.0.0",))
    record = replace(state.versions["1.0.0"], version="1.1.0")
    after = after_publish(state, "pkg", record, normalized("# new"), {"latest": "1.1.0"}, now=NOW)
    assert after.readme == "# new"


def test_metadata_update_applies_deprecations_and_unpublish() -> None:
    state = make_state(versions=("1.0.0", "1.1.0", "2.0.0"), deprecated={"1.1.0": "old"})
    changes = MetadataChanges(
        deprecations={"1.0.0": "bad", "1.1.0": None},
        unpublished=frozenset({"2.0.0"}),
        dist_tags=None,
        rev=None,
    )
    after = after_metadata_update(state, changes, now=NOW)
    assert after.versions["1.0.0"].deprecated == "bad"
    assert after.versions["1.1.0"].deprecated is None
    assert set(after.versions) == {"1.0.0", "1.1.0"}
    assert after.unpublished == {"2.0.0": state.versions["2.0.0"].published}
    assert after.dist_tags == {"latest": "1.1.0"}
    assert after.revision == state.revision + 1
    assert after.all_version_numbers() == {"1.0.0", "1.1.0", "2.0.0"}


def test_empty_metadata_update_changes_nothing() -> None:
    state = make_state()
    empty = MetadataChanges({}, frozenset(), None, "3-x")
    assert after_metadata_update(state, empty, now=NOW) is state


def test_dist_tags_and_removal() -> None:
    state = make_state(versions=("1.0.0", "2.0.0"))
    tagged = after_dist_tags(state, {"latest": "2.0.0", "old": "1.0.0"}, now=NOW)
    assert tagged.dist_tags == {"latest": "2.0.0", "old": "1.0.0"}
    removed = after_removal(tagged, ["2.0.0"], now=NOW)
    assert removed.dist_tags == {"latest": "1.0.0", "old": "1.0.0"}
    assert set(removed.unpublished) == {"2.0.0"}
    with pytest.raises(NpmError) as info:
        after_removal(tagged, ["3.0.0"], now=NOW)
    assert info.value.status == 404
    with pytest.raises(NpmError, match="delete it instead"):
        after_removal(tagged, ["1.0.0", "2.0.0"], now=NOW)
