"""Promotion runs the target's policies like a publish there: no laundering through a lax repo."""

from __future__ import annotations

from typing import Any

import pytest

from artifortress import hookimpl
from artifortress.plugin import PolicyDecision, PolicyRequest
from tests.functional.control_plane.helpers import assert_error

from .helpers import FAST, drain, events, release

DEV, PROD = "/v1/repos/dev/packages", "/v1/repos/prod/packages"


class HoldWhenAsked:
    """A third-party policy: quarantines everything where the settings say ``extra.hold``."""

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if request.config.get("extra", {}).get("hold"):
            return PolicyDecision.quarantine("held for review", "hold")
        return None


@pytest.fixture
def extra_plugins() -> list[object]:
    return [HoldWhenAsked()]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return FAST


@pytest.fixture
def repos(admin, make_repo):
    """``dev`` enforces nothing; ``prod`` is public, so anonymous views show what leaked."""
    make_repo("dev")
    make_repo("prod", public=True)


def _set_prod_policy(admin, **config: Any) -> None:
    answer = admin.put("/v1/repos/prod/policy", config)
    assert answer.status_code == 200, answer.text


def _promote(admin, package: str, version: str = "1.0"):
    return admin.post(f"{DEV}/{package}/versions/{version}/promote", {"target": "prod"})


REFUSALS = [
    pytest.param({"max_artifact_size": 20}, "big", {"license": "MIT"}, b"x" * 21, id="size"),
    pytest.param(
        {"allowed_licenses": ["MIT"]}, "gpl", {"license": "GPL-3.0-only"}, None, id="license"
    ),
    pytest.param({"allowed_licenses": ["MIT"]}, "anon", {}, None, id="no-license"),
    pytest.param({"blocked_name_patterns": ["evil-*"]}, "evil-corp", {}, None, id="blocked-name"),
]


@pytest.mark.parametrize(("config", "package", "metadata", "data"), REFUSALS)
def test_a_version_the_target_refuses_is_not_promoted(
    admin, anonymous, services, repos, config, package, metadata, data
):
    _set_prod_policy(admin, **config)
    release(admin, "dev", package, "1.0", metadata=metadata, data=data)
    before = len(events(services))
    refused = _promote(admin, package)
    assert refused.status_code == 403, refused.text
    assert refused.json["error"]["code"] == "policy_rejected"
    assert refused.json["error"]["details"]["reasons"][0]["policy"] == next(iter(config))
    # Nothing copied: no version, no package listing, no blob held, no event.
    assert admin.get(f"{PROD}/{package}/versions/1.0").status_code == 404
    assert anonymous.get(PROD).json["packages"] == []
    digest = admin.get(f"{DEV}/{package}/versions/1.0").json["artifacts"][0]["digest"]
    assert anonymous.get(f"/v1/repos/prod/blobs/{digest}").status_code == 404
    assert len(events(services)) == before
    [denied] = admin.get("/v1/audit?action=version.promote&outcome=denied").json["entries"]
    assert (denied["repo"], denied["actor"]) == ("dev", "admin")
    # The same version published straight into prod is refused for the same reason.
    direct = release(admin, "prod", package, "1.0", metadata=metadata, data=data, expect=403)
    assert direct.json["error"]["details"] == refused.json["error"]["details"]


def test_a_version_within_the_target_rules_is_promoted(admin, anonymous, repos):
    _set_prod_policy(admin, max_artifact_size=100, allowed_licenses=["MIT"])
    release(admin, "dev", "fine", "1.0", metadata={"license": "MIT"})
    promoted = _promote(admin, "fine")
    assert promoted.status_code == 201, promoted.text
    assert anonymous.get(f"{PROD}/fine/versions/1.0").json["state"] == "published"


def test_a_version_the_target_holds_back_is_quarantined(admin, anonymous, services, repos):
    _set_prod_policy(admin, extra={"hold": True})
    release(admin, "dev", "tool", "1.0")
    held = _promote(admin, "tool")
    assert held.status_code == 202, held.text
    assert held.json["state"] == "quarantined"
    assert anonymous.get(f"{PROD}/tool/versions/1.0").status_code == 404
    assert anonymous.get("/generic/prod/tool/1.0/tool-1.0.bin").status_code == 404
    assert [e.event_type for e in events(services)][-1] == "version.quarantined"
    drain(services)
    found = admin.get("/v1/search?q=tool").json["results"]
    assert [hit["repo"] for hit in found] == ["dev"], "the held copy is not indexed"
    # Its number is taken in prod while it waits: promoting again is a conflict, not a 500.
    assert _promote(admin, "tool").status_code == 409
    [entry] = admin.get("/v1/quarantine").json["quarantine"]
    assert (entry["repo"], entry["package"], entry["reasons"][0]["policy"]) == (
        "prod",
        "tool",
        "hold",
    )
    assert admin.post(f"/v1/quarantine/{entry['id']}/release").status_code == 200
    copy = anonymous.get(f"{PROD}/tool/versions/1.0").json
    assert (copy["state"], copy["promoted_from"]) == ("published", "dev/tool@1.0")
    actions = [e["action"] for e in admin.get("/v1/audit?repo=prod").json["entries"]]
    assert {"version.quarantine", "version.promote", "quarantine.release"} <= set(actions)


def test_a_number_held_or_rejected_in_the_target_is_a_conflict(admin, repos):
    """A quarantined or rejected version keeps its number: promoting over it is a 409."""
    _set_prod_policy(admin, extra={"hold": True})
    for version in ("1.0", "2.0"):
        release(admin, "dev", "tool", version)
        release(admin, "prod", "tool", version, expect=202)
    entries = admin.get("/v1/quarantine").json["quarantine"]
    held = next(e for e in entries if e["version"] == "2.0")
    assert admin.post(f"/v1/quarantine/{held['id']}/reject", {"reason": "no"}).status_code == 200
    for version in ("1.0", "2.0"):
        assert_error(_promote(admin, "tool", version), 409, "conflict")
