"""Project names: PEP 503 normalization and the core metadata name rule."""

from __future__ import annotations

import pytest
from artifortress_pypi.names import is_normalized, is_valid_project_name, normalize


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Foo.Bar_baz", "foo-bar-baz"),
        ("foo--bar", "foo-bar"),
        ("FOO._-bar", "foo-bar"),
        ("zope.interface", "zope-interface"),
        ("a", "a"),
    ],
)
def test_normalize(name: str, expected: str) -> None:
    assert normalize(name) == expected


@pytest.mark.parametrize("name", ["a", "A1", "foo.bar", "Foo_Bar-baz", "9lives"])
def test_valid_names(name: str) -> None:
    assert is_valid_project_name(name)


@pytest.mark.parametrize(
    "name", ["", "-foo", "foo-", ".foo", "foo_", "foo bar", "föö", "foo/bar", "foo\n", "a" * 201]
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_project_name(name)


def test_is_normalized() -> None:
    assert is_normalized("foo-bar")
    assert not is_normalized("Foo-bar")
    assert not is_normalized("foo_bar")
