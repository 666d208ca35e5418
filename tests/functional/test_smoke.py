from __future__ import annotations


def test_admin_creates_repo_and_reads_it_back(admin, anonymous):
    created = admin.post("/v1/repos", {"key": "libs", "format": "generic"})
    assert created.status_code == 201, created.text
    listed = admin.get("/v1/repos").json["repos"]
    assert [r["key"] for r in listed] == ["libs"]
    assert anonymous.get("/v1/repos/libs").status_code == 401
