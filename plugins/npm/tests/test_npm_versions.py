"""Versions and dist-tag names."""

from __future__ import annotations

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.versions import (
    clean_version,
    highest_version,
    is_valid_version,
    sort_versions,
    validate_tag,
    validate_version,
)


@pytest.mark.parametrize("version", ["0.0.0", "1.2.3", "1.0.0-rc.1", "1.0.0-0.3.7", "1.0.0-x-y.z"])
def test_valid_versions(version: str) -> None:
    assert is_valid_version(version)
    assert validate_version(version) == version


@pytest.mark.parametrize(
    "version",
    ["1", "1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3+build", " 1.2.3", 1, "9" * 20 + ".0.0"],
)
def test_invalid_versions(version: object) -> None:
    assert not is_valid_version(version)
    with pytest.raises(NpmError, match="invalid version"):
        validate_version(version)


def test_clean_version_behaves_like_semver_clean() -> None:
    assert clean_version(" v1.2.3 ") == "1.2.3"
    assert clean_version("=1.2.3+build.5") == "1.2.3"
    assert clean_version("1.2") is None
    assert clean_version(None) is None


def test_semver_order() -> None:
    versions = [
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
        "1.0.0-beta",
        "0.9.10",
        "0.9.9",
        "10.0.0",
    ]
    assert sort_versions(versions) == [
        "0.9.9", "0.9.10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "10.0.0",
    ]  # fmt: skip


def test_highest_version_prefers_releases() -> None:
    assert highest_version(["1.0.0", "2.0.0-rc.1"]) == "1.0.0"
    assert highest_version(["1.0.0", "2.0.0-rc.1"], prefer_release=False) == "2.0.0-rc.1"
    assert highest_version(["2.0.0-rc.1"]) == "2.0.0-rc.1"
    assert highest_version([]) is None


@pytest.mark.parametrize("tag", ["latest", "beta", "next-2", "rc_1", "x-ray", "legacy.v1"])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag", ["", "1.0.0", "v2", "1", "x", "X", "x.1", "~1", "^2", "*", "a b", "a/b", 5]
)
def test_invalid_tags(tag: object) -> None:
    with pytest.raises(NpmError, match="dist-tag"):
        validate_tag(tag)
