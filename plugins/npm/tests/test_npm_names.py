"""Package names: validation for new packages and the URL forms clients send."""

from __future__ import annotations

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.names import (
    escaped_name,
    name_problems,
    parse_target,
    split_dist_tags_path,
    split_name,
    split_path,
    tarball_filename,
    validate_name,
    version_from_tarball_filename,
)

VALID = [
    "some-package",
    "example.com",
    "under_score",
    "period.js",
    "123numeric",
    "@npm/thingy",
    "@scope/a.b_c-d",
    "a" * 214,
]
INVALID = {
    "": "greater than zero",
    ".start-with-period": "cannot start with '.'",
    "_start-with-underscore": "cannot start with '_'",
    "-start-with-hyphen": "cannot start with '-'",
    "contain:colons": "URL-friendly",
    " leading-space": "leading or trailing spaces",
    "trailing-space ": "leading or trailing spaces",
    "s/l/a/s/h/e/s": "URL-friendly",
    "node_modules": "not a valid package name",
    "favicon.ico": "not a valid package name",
    "http": "core module",
    "CAPITAL-LETTERS": "capital letters",
    "crazy!": "URL-friendly",
    "@npm-zors/money!time.js": "URL-friendly",
    "a" * 215: "more than 214",
    "@scope/..": "URL-friendly",
    "@scope/.hidden": "URL-friendly",
    "@/name": "URL-friendly",
    "@scope/": "URL-friendly",
    "caf\u00e9": "URL-friendly",
    "a%2fb": "URL-friendly",
}


@pytest.mark.parametrize("name", VALID)
def test_valid_names_have_no_problems(name: str) -> None:
    assert name_problems(name) == []
    assert validate_name(name) == name


@pytest.mark.parametrize(("name", "problem"), INVALID.items())
def test_invalid_names_are_refused_with_the_reason(name: str, problem: str) -> None:
    assert any(problem in p for p in name_problems(name)), name_problems(name)
    with pytest.raises(NpmError) as info:
        validate_name(name)
    assert info.value.status == 400
    assert problem in info.value.message


def test_validate_name_refuses_non_strings() -> None:
    with pytest.raises(NpmError, match="must be a string"):
        validate_name(None)


@pytest.mark.parametrize(
    "remainder", ["/@scope/name/-/name-1.0.0.tgz", "@scope/name/-/name-1.0.0.tgz"]
)
def test_a_scoped_path_splits_after_its_second_segment(remainder: str) -> None:
    path = split_path(remainder)
    assert path.name == "@scope/name"
    assert path.rest == "/-/name-1.0.0.tgz"


@pytest.mark.parametrize(
    "remainder",
    # What the server hands over when the client double-encoded (%252f, %2540).
    ["/@scope%2fname", "/@scope%2Fname/-/name-1.0.0.tgz", "/%40scope/name", "/left%2dpad"],
)
def test_the_decoded_path_is_not_decoded_again(remainder: str) -> None:
    with pytest.raises(NpmError) as info:
        split_path(remainder)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("remainder", "name", "rest"),
    [
        ("/left-pad", "left-pad", ""),
        ("/left-pad/", "left-pad", "/"),
        ("/left-pad/1.0.0", "left-pad", "/1.0.0"),
        ("/left-pad/latest", "left-pad", "/latest"),
        ("/left-pad/-rev/3-abc", "left-pad", "/-rev/3-abc"),
        ("/@s/p", "@s/p", ""),
        ("/@s/p/-rev/2-x", "@s/p", "/-rev/2-x"),
        ("/JSONStream/-/JSONStream-1.3.5.tgz", "JSONStream", "/-/JSONStream-1.3.5.tgz"),
        ("/@Old/Name(1)", "@Old/Name(1)", ""),  # published before today's rules
    ],
)
def test_split_path(remainder: str, name: str, rest: str) -> None:
    path = split_path(remainder)
    assert (path.name, path.rest) == (name, rest)


@pytest.mark.parametrize(
    "remainder",
    ["/", "", "/@scope", "/@scope/", "/../etc", "/.hidden", "/a\ufffdb", "/@sc/o%2Fx"],
)
def test_split_path_refuses_what_cannot_be_a_name(remainder: str) -> None:
    with pytest.raises(NpmError) as info:
        split_path(remainder)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("rest", "kind", "fields"),
    [
        ("", "packument", {}),
        ("/", "packument", {}),
        ("/1.0.0", "spec", {"spec": "1.0.0"}),
        ("/latest", "spec", {"spec": "latest"}),
        ("/-rev/3-abc", "rev", {"rev": "3-abc"}),
        ("/-/name-1.0.0.tgz", "tarball", {"filename": "name-1.0.0.tgz"}),
        ("/-/name-1.0.0.tgz/-rev/4-d", "tarball", {"filename": "name-1.0.0.tgz", "rev": "4-d"}),
        ("/1.0.0%2bbuild", "spec", {"spec": "1.0.0%2bbuild"}),  # decoded once, by the server
    ],
)
def test_parse_target(rest: str, kind: str, fields: dict[str, str]) -> None:
    target = parse_target(rest)
    assert target.kind == kind
    for key, value in fields.items():
        assert getattr(target, key) == value


@pytest.mark.parametrize("rest", ["/-", "/-rev", "/-rev/", "/-/x.txt", "/a/b", "/-/a.tgz/x/y"])
def test_parse_target_refuses_unknown_shapes_with_404(rest: str) -> None:
    with pytest.raises(NpmError) as info:
        parse_target(rest)
    assert info.value.status == 404


def test_dist_tags_paths() -> None:
    assert split_dist_tags_path("/@s/p/dist-tags") == ("@s/p", None)
    assert split_dist_tags_path("/@s/p/dist-tags/beta") == ("@s/p", "beta")
    assert split_dist_tags_path("/p/dist-tags/") == ("p", None)
    with pytest.raises(NpmError):
        split_dist_tags_path("/p/other")


def test_name_helpers() -> None:
    assert split_name("@a/b") == ("@a", "b")
    assert split_name("b") == (None, "b")
    assert escaped_name("@a/b") == "@a%2fb"
    assert tarball_filename("@a/b", "1.0.0") == "b-1.0.0.tgz"
    assert version_from_tarball_filename("@a/b", "b-1.0.0-rc.1.tgz") == "1.0.0-rc.1"
    assert version_from_tarball_filename("@a/b", "c-1.0.0.tgz") is None
    assert version_from_tarball_filename("b", "b-.tgz") is None
