"""Package names with slashes in REST URLs: folded into one segment before routing."""

from __future__ import annotations

import falcon.testing
import pytest

from artifortress.versions.package_paths import fold_package_path

BASE = "/v1/repos/go/packages"


def folded(path: str) -> tuple[str, str | None]:
    req = falcon.testing.create_req(path=path)
    req.context.package_path = None
    fold_package_path(req)
    return req.path, req.context.package_path


@pytest.mark.parametrize(
    ("path", "routed", "name"),
    [
        (f"{BASE}/example.com/hello/-", f"{BASE}/example.com%2Fhello", "example.com/hello"),
        (
            f"{BASE}/example.com/hello/v2/-/versions/v2.0.0/restore",
            f"{BASE}/example.com%2Fhello%2Fv2/versions/v2.0.0/restore",
            "example.com/hello/v2",
        ),
        (f"{BASE}/tool/-/labels/beta", f"{BASE}/tool/labels/beta", "tool"),
        # The last '-' ends the name: a name may hold a '-' segment of its own.
        (f"{BASE}/a/-/b/-/versions/1", f"{BASE}/a%2F-%2Fb/versions/1", "a/-/b"),
    ],
)
def test_a_name_ended_by_a_dash_segment_is_folded(path, routed, name):
    assert folded(path) == (routed, name)


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/tool/versions/1.0",  # one segment
        f"{BASE}/@scope/tool/versions/1.0",  # two segments, routed as {package}/{subname}
        f"{BASE}/-/versions/1",  # no name before the '-'
        f"{BASE}/versions/drafts/7",
        "/go/mods/example.com/hello/-/x",  # not the REST API
    ],
)
def test_other_paths_are_left_alone(path):
    assert folded(path) == (path, None)
