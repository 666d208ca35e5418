"""Upstream URLs are bases: a path resolved under one keeps the base's last segment."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from artifortress.errors import ValidationFailed
from artifortress.repos.upstreams import as_base, check_url


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://host/simple", "https://host/simple/"),
        ("https://host/simple/", "https://host/simple/"),
        ("https://host/files", "https://host/files/"),
        ("https://registry.example", "https://registry.example/"),
        ("https://host/a/b?token=x", "https://host/a/b/?token=x"),
    ],
)
def test_an_upstream_url_is_kept_as_a_base(given: str, base: str) -> None:
    assert check_url(given) == base
    assert as_base(base) == base


def test_a_path_under_a_base_keeps_its_last_segment() -> None:
    assert urljoin(as_base("https://host/simple"), "requests/") == "https://host/simple/requests/"


def test_urls_that_are_no_upstream_are_still_refused() -> None:
    with pytest.raises(ValidationFailed):
        check_url("ftp://host/simple")
