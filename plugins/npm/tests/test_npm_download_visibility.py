"""Tarball downloads hand out only published files of the URL's repository (send_artifact)."""

from __future__ import annotations

import json

from plugins.npm.tests.test_npm_http import body, tarball


def put(api, repo, name, version):
    doc = body(name, version, tarball(name, version))
    return api.client.simulate_request(
        "PUT",
        f"/npm/{repo}/{name}",
        headers=api.headers({"Content-Type": "application/json"}),
        body=json.dumps(doc).encode(),
    )


def test_only_published_tarballs(admin, anonymous, make_repo):
    make_repo("js", format="npm")
    make_repo("pub", format="npm", public=True)
    assert admin.put("/v1/repos/js/policy", {"typosquat": True}).status_code == 200
    assert put(admin, "js", "requests", "1.0.0").status_code == 201
    assert put(admin, "js", "reqeusts", "1.0.0").status_code in (201, 202)
    held = admin.get("/npm/js/reqeusts/-/reqeusts-1.0.0.tgz")
    assert held.status_code == 404, "quarantined"
    ok = admin.get("/npm/js/requests/-/requests-1.0.0.tgz")
    assert ok.status_code == 200
    assert ok.content
    # anonymous on a private repository: 401, same for existing and missing files
    assert anonymous.get("/npm/js/requests/-/requests-1.0.0.tgz").status_code == 401
    assert anonymous.get("/npm/js/nothing/-/nothing-1.0.0.tgz").status_code == 401
    assert anonymous.get("/npm/nosuchrepo/x/-/x-1.0.0.tgz").status_code == 401
    # public repository: anonymous reads, missing is 404
    assert put(admin, "pub", "left", "1.0.0").status_code == 201
    assert anonymous.get("/npm/pub/left/-/left-1.0.0.tgz").status_code == 200
    assert anonymous.get("/npm/pub/left/-/left-9.0.0.tgz").status_code == 404
    # another repository's file by the same name is not reachable through this one
    assert admin.get("/npm/pub/requests/-/requests-1.0.0.tgz").status_code == 404
    # promote into pub, then tombstone the source: the copy stays, the source is gone
    promoted = admin.post(
        "/v1/repos/js/packages/requests/versions/1.0.0/promote", {"target": "pub"}
    )
    assert promoted.status_code == 201, promoted.text
    assert anonymous.get("/npm/pub/requests/-/requests-1.0.0.tgz").status_code == 200
    gone = admin.client.simulate_request(
        "DELETE", "/npm/js/requests/-/requests-1.0.0.tgz", headers=admin.headers()
    )
    assert gone.status_code == 200, gone.text
    assert admin.get("/npm/js/requests/-/requests-1.0.0.tgz").status_code == 404, "tombstoned"
    assert anonymous.get("/npm/pub/requests/-/requests-1.0.0.tgz").status_code == 200
