"""Policies at publish time: reject (nothing stored), quarantine (invisible until released)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from artifortress import hookimpl
from artifortress.plugin import PolicyDecision, PolicyRequest

from .helpers import FAST, drain, events, release

PKG = "/v1/repos/libs/packages"
MIT_CLASSIFIER = "License :: OSI Approved :: MIT License"


class NoFriday:
    """A third-party policy: refuses versions whose metadata says ``"friday": true``."""

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if request.version.metadata.get("friday"):
            return PolicyDecision.reject("no releases on Fridays", "no-friday")
        return None


@pytest.fixture
def extra_plugins() -> list[object]:
    return [NoFriday()]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return FAST


@pytest.fixture
def libs(admin, make_repo):
    make_repo("libs", public=True)
    return "libs"


def set_policy(admin, **config):
    answer = admin.put("/v1/repos/libs/policy", config)
    assert answer.status_code == 200, answer.text
    return answer.json


def refused(admin, services, package, version, **kwargs):
    """Publish and expect the policy refusal; returns its error."""
    before = len(events(services))
    answer = release(admin, "libs", package, version, expect=403, **kwargs)
    assert answer.json["error"]["code"] == "policy_rejected"
    assert admin.get(f"{PKG}/{package}/versions/{version}").status_code == 404
    assert len(events(services)) == before, "a refused publish emits nothing"
    return answer.json["error"]


def test_policy_settings_round_trip(admin, libs):
    assert admin.get("/v1/repos/libs/policy").json["typosquat"] is False
    config = set_policy(admin, max_artifact_size=10, allowed_licenses=["MIT"], typosquat=True)
    assert admin.get("/v1/repos/libs/policy").json == config
    assert config["blocked_name_patterns"] == []
    assert admin.put("/v1/repos/libs/policy", {"max_artifact_size": -1}).status_code == 400
    assert admin.put("/v1/repos/libs/policy", {"surprise": 1}).status_code == 400
    audit = admin.get("/v1/audit?action=policy.set").json["entries"]
    assert audit[0]["repo"] == "libs"


def test_size_license_and_name_policies_reject_with_their_reason(admin, libs, services):
    set_policy(
        admin,
        max_artifact_size=20,
        allowed_licenses=["MIT", "Apache-2.0"],
        blocked_name_patterns=["evil-*"],
    )
    error = refused(admin, services, "big", "1.0", data=b"x" * 21, metadata={"license": "MIT"})
    assert "larger than 20 bytes" in error["message"]
    error = refused(admin, services, "gpl", "1.0", metadata={"license": "GPL-3.0-only"})
    assert "GPL-3.0-only" in error["message"]
    assert error["details"]["reasons"][0]["policy"] == "allowed_licenses"
    assert "no license" in refused(admin, services, "anon", "1.0")["message"]
    error = refused(admin, services, "evil-corp", "1.0", metadata={"license": "MIT"})
    assert "evil-*" in error["message"]
    # Within the rules it publishes; OR needs one allowed license, AND all of them.
    release(admin, "libs", "fine", "1.0", metadata={"license_expression": "MIT OR Apache-2.0"})
    release(admin, "libs", "npmish", "1.0", metadata={"license": {"type": "MIT"}})
    release(admin, "libs", "choice", "1.0", metadata={"license": "MIT OR GPL-2.0"})
    release(admin, "libs", "classified", "1.0", metadata={"classifiers": [MIT_CLASSIFIER]})
    error = refused(admin, services, "mixed", "1.0", metadata={"license": "MIT AND GPL-2.0"})
    assert "GPL-2.0-only is not in the allowed list" in error["message"]
    denied = admin.get("/v1/audit?action=version.publish&outcome=denied").json["entries"]
    assert len(denied) == 5


def test_third_party_policies_decide_through_the_same_hook(admin, libs, services):
    error = refused(admin, services, "weekend", "1.0", metadata={"friday": True})
    assert error["message"] == "refused by policy: no-friday: no releases on Fridays"


def test_a_typosquat_is_quarantined_invisible_until_released(admin, anonymous, libs, services):
    set_policy(admin, typosquat=True)
    release(admin, "libs", "requests", "1.0")
    release(admin, "libs", "left-pad", "1.0")
    held = release(admin, "libs", "reqeusts", "1.0", expect=202)
    assert held.json["state"] == "quarantined"
    release(admin, "libs", "leftpad", "1.0", expect=202)  # separators only
    release(admin, "libs", "requests", "1.1")  # not a new name: no check
    release(admin, "libs", "flask", "1.0")  # nothing close
    # Invisible to every client view: REST, listings, the generic plugin, search.
    assert anonymous.get(f"{PKG}/reqeusts/versions/1.0").status_code == 404
    assert anonymous.get(f"{PKG}/reqeusts").json["versions"] == []
    listed = {p["name"] for p in anonymous.get(PKG).json["packages"]}
    assert listed == {"requests", "left-pad", "flask"}
    assert anonymous.get("/generic/libs/reqeusts/1.0/reqeusts-1.0.bin").status_code == 404
    held_blob = f"/v1/repos/libs/blobs/{held.json['artifacts'][0]['digest']}"
    assert anonymous.get(held_blob).status_code == 404, "not even by digest"
    digest, size = held.json["artifacts"][0]["digest"], held.json["artifacts"][0]["size"]
    admin.post("/v1/repos", {"key": "mine", "format": "generic"})
    dedupe = admin.post("/v1/repos/mine/uploads", {"digest": digest, "size": size})
    assert dedupe.status_code == 201, "held-back bytes are not handed out by the dedupe shortcut"
    drain(services)
    assert anonymous.get("/v1/search?q=reqeusts").json["total"] == 0
    # The number is taken while it waits.
    again = admin.post(f"{PKG}/versions/drafts", {"package": "reqeusts", "version": "1.0"})
    assert again.status_code == 409

    queue = admin.get("/v1/quarantine").json["quarantine"]
    assert [(q["package"], q["state"]) for q in queue] == [
        ("leftpad", "pending"),
        ("reqeusts", "pending"),
    ]
    entry = queue[1]
    assert entry["reasons"][0]["policy"] == "typosquat"
    assert "'requests'" in entry["reasons"][0]["reason"]

    released = admin.post(f"/v1/quarantine/{entry['id']}/release")
    assert released.status_code == 200, released.text
    assert released.json["state"] == "released"
    assert admin.post(f"/v1/quarantine/{entry['id']}/release").status_code == 409
    assert anonymous.get(f"{PKG}/reqeusts/versions/1.0").json["state"] == "published"
    assert anonymous.get("/generic/libs/reqeusts/1.0/reqeusts-1.0.bin").status_code == 200
    assert anonymous.get(held_blob).status_code == 200
    drain(services)
    assert anonymous.get("/v1/search?q=reqeusts").json["total"] == 1
    kinds = [e.event_type for e in events(services)]
    assert kinds.count("version.quarantined") == 2
    assert kinds[-2:] == ["quarantine.released", "version.published"]
    actions = [e["action"] for e in admin.get("/v1/audit?repo=libs").json["entries"]]
    assert {"version.quarantine", "quarantine.release"} <= set(actions)


def test_a_rejected_quarantine_stays_invisible_and_keeps_its_number(
    admin, anonymous, libs, services
):
    set_policy(admin, typosquat=True)
    release(admin, "libs", "django", "4.0")
    release(admin, "libs", "djnago", "4.0", expect=202)
    [entry] = admin.get("/v1/quarantine").json["quarantine"]
    assert admin.post(f"/v1/quarantine/{entry['id']}/reject", {}).status_code == 400
    rejected = admin.post(f"/v1/quarantine/{entry['id']}/reject", {"reason": "typosquat"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json["state"], rejected.json["note"]) == ("rejected", "typosquat")
    assert admin.post(f"/v1/quarantine/{entry['id']}/release").status_code == 409
    assert anonymous.get(f"{PKG}/djnago/versions/4.0").status_code == 404
    assert admin.get("/v1/quarantine").json["quarantine"] == []
    assert admin.get("/v1/quarantine?state=rejected").json["quarantine"][0]["id"] == entry["id"]
    again = admin.post(f"{PKG}/versions/drafts", {"package": "djnago", "version": "4.0"})
    assert again.status_code == 409
    assert events(services)[-1].event_type == "quarantine.rejected"


def test_quarantined_versions_are_sealed_in_the_database(admin, libs, services):
    set_policy(admin, typosquat=True)
    release(admin, "libs", "numpy", "1.0")
    release(admin, "libs", "nunpy", "1.0", expect=202)
    with services.engine.connect() as conn:
        version_id = conn.execute(
            text(
                "SELECT v.id FROM versions v JOIN packages p ON p.id = v.package_id "
                "WHERE p.name = 'nunpy'"
            )
        ).scalar_one()
        digest = conn.execute(text("SELECT digest FROM artifacts LIMIT 1")).scalar_one()
    statements = [
        f"UPDATE versions SET version = '9.9' WHERE id = {version_id}",
        f"UPDATE versions SET state = 'draft' WHERE id = {version_id}",
        f"DELETE FROM versions WHERE id = {version_id}",
        f"UPDATE artifacts SET filename = 'x' WHERE version_id = {version_id}",
        f"DELETE FROM artifacts WHERE version_id = {version_id}",
        "INSERT INTO artifacts (version_id, filename, digest, size, media_type, metadata, "
        f"created_at) VALUES ({version_id}, 'more.bin', '{digest}', 1, 'x', '{{}}', "
        "CURRENT_TIMESTAMP)",
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="artifortress"), services.engine.begin() as conn:
            conn.execute(text(statement))


def test_files_appended_to_a_published_version_pass_the_policies_too(admin, libs, services):
    set_policy(admin, max_artifact_size=10)
    url = "/generic/libs/tool/1.0"
    put = admin.client.simulate_put
    assert put(f"{url}/small.bin", body=b"tiny", headers=admin.headers()).status_code == 201
    big = put(f"{url}/big.bin", body=b"x" * 11, headers=admin.headers())
    assert big.status_code == 403
    assert "larger than 10 bytes" in big.text
    files = admin.get(f"{PKG}/tool/versions/1.0").json["artifacts"]
    assert [f["filename"] for f in files] == ["small.bin"]


def test_quarantine_events_and_audit_name_the_policy_not_the_other_package(
    admin, libs, make_repo, services
):
    make_repo("vault")  # private
    admin.put("/v1/repos/vault/policy", {})
    set_policy(admin, typosquat=True)
    release(admin, "vault", "internal-billing", "1.0")
    release(admin, "libs", "internal-biling", "1.0", expect=202)
    [event] = events(services, "version.quarantined")
    assert event.payload["policies"] == ["typosquat"]
    assert "internal-billing" not in repr(event.payload)
    [row] = admin.get("/v1/repos/libs/audit?action=version.quarantine").json["entries"]
    assert "internal-billing" not in repr(row)
    [entry] = admin.get("/v1/quarantine").json["quarantine"]  # tenant admins see why
    assert "'internal-billing'" in entry["reasons"][0]["reason"]
