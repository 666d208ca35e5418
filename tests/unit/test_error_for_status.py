"""error_for_status: a plugin's protocol error keeps its status and gets the closest core code."""

from __future__ import annotations

import pytest

from artifortress.plugin import error_for_status


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (404, "not_found"),
        (418, "bad_request"),
        (500, "internal_error"),
        (502, "upstream_unavailable"),
        (503, "service_unavailable"),
        (504, "upstream_timeout"),
    ],
)
def test_a_status_maps_to_its_code(status: int, code: str) -> None:
    error = error_for_status("upstream broke", status)
    assert (error.status, error.code, error.message) == (status, code, "upstream broke")


def test_a_service_unavailable_says_when_to_retry() -> None:
    assert error_for_status("busy", 503).headers == {"Retry-After": "5"}
