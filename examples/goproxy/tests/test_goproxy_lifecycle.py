"""A Go module's whole life, through the core's REST API and through a plugin's Gateway.

Module paths hold slashes: ``/v1/repos/{repo}/packages/example.com/hello/-/...``
addresses them (two-segment ones also without the ``-``). A plugin offering
restore and promote on its own URLs calls ``Gateway.restore`` and
``Gateway.promote``, which apply the core's permissions and policies.
"""

from __future__ import annotations

import falcon
import pytest
from goproxy_zips import greeter

from artifortress.plugin import Gateway, Permission, PluginRoute, hookimpl, requires

MODULE = "example.com/hello"
PACKAGE = f"/v1/repos/mods/packages/{MODULE}/-"


def put(api, repo: str, module: str, version: str):
    url = f"/go/{repo}/{module}/@v/{version}.zip"
    return api.client.simulate_request(
        "PUT", url, headers=api.headers(), body=greeter(module, version)
    )


def info(api, repo: str, version: str, module: str = MODULE) -> int:
    return int(api.get(f"/go/{repo}/{module}/@v/{version}.info").status_code)


class RestoreResource:
    """``POST /go/{repo}/-/restore/{version}/{module}``: a plugin's own restore URL."""

    @requires(Permission.WRITE, action="version.restore")
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, repo: str, version: str, module: str
    ) -> None:
        gateway = Gateway(req)
        restored = gateway.restore(gateway.repo, module, version)
        resp.media = {"state": restored.state}


class PromoteResource:
    """``POST /go/{repo}/-/promote/{target}/{version}/{module}``: a plugin's own promote URL."""

    @requires(Permission.READ, action="version.promote")
    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        target: str,
        version: str,
        module: str,
    ) -> None:
        gateway = Gateway(req)
        into = gateway.repository(target, Permission.READ)
        promoted = gateway.promote(gateway.repo, module, version, into)
        resp.status = falcon.HTTP_201
        resp.media = {"state": promoted.state}


class LifecycleRoutes:
    @hookimpl
    def artifortress_routes(self) -> list[PluginRoute]:
        return [
            PluginRoute("go", "/-/restore/{version}/{module:path}", RestoreResource()),
            PluginRoute("go", "/-/promote/{target}/{version}/{module:path}", PromoteResource()),
        ]


@pytest.fixture
def extra_plugins() -> list[object]:
    return [LifecycleRoutes()]


@pytest.fixture
def repos(make_repo) -> None:
    make_repo("mods", format="go")
    make_repo("release", format="go")


def test_rest_api_addresses_module_paths(admin, repos):
    assert put(admin, "mods", MODULE, "v1.0.0").status_code == 201
    package = admin.get(PACKAGE)
    assert package.status_code == 200, package.text
    assert package.json["name"] == MODULE
    assert [v["version"] for v in package.json["versions"]] == ["v1.0.0"]
    assert admin.get(f"/v1/repos/mods/packages/{MODULE}").json == package.json, "two segments"
    version = admin.get(f"{PACKAGE}/versions/v1.0.0")
    files = {a["filename"] for a in version.json["artifacts"]}
    assert files == {"v1.0.0.zip", "v1.0.0.mod"}, version.text
    assert admin.get(f"/v1/repos/mods/packages/{MODULE}/versions/v1.0.0").json == version.json


def test_delete_restore_promote_through_the_rest_api(admin, repos):
    put(admin, "mods", MODULE, "v1.0.0")
    assert admin.delete(f"{PACKAGE}/versions/v1.0.0").json["state"] == "tombstoned"
    assert info(admin, "mods", "v1.0.0") == 410
    restored = admin.post(f"{PACKAGE}/versions/v1.0.0/restore")
    assert restored.status_code == 200, restored.text
    assert info(admin, "mods", "v1.0.0") == 200
    promoted = admin.post(f"{PACKAGE}/versions/v1.0.0/promote", {"target": "release"})
    assert promoted.status_code == 201, promoted.text
    assert info(admin, "release", "v1.0.0") == 200
    assert admin.get(f"/go/release/{MODULE}/@v/list").text == "v1.0.0\n"


def test_yank_deprecate_and_labels_of_a_deep_module_path(admin, repos):
    deep = f"{MODULE}/v2"
    assert put(admin, "mods", deep, "v2.0.0").status_code == 201
    base = f"/v1/repos/mods/packages/{deep}/-"
    assert admin.get(base).json["name"] == deep
    yanked = admin.post(f"{base}/versions/v2.0.0/yank", {"reason": "broken"})
    assert yanked.json["yanked"] is True, yanked.text
    deprecated = admin.post(f"{base}/versions/v2.0.0/deprecation", {"message": "use v3"})
    assert deprecated.status_code == 200, deprecated.text
    assert admin.put(f"{base}/labels/stable", {"version": "v2.0.0"}).status_code == 200
    assert admin.get(base).json["labels"] == {"stable": "v2.0.0"}
    assert admin.delete(f"{base}/labels/stable").status_code == 200
    assert admin.get(f"/v1/repos/mods/packages/{deep}").status_code == 404, "needs the '-'"


def test_restore_and_promote_through_the_gateway(admin, repos):
    put(admin, "mods", MODULE, "v1.0.0")
    assert admin.delete(f"/go/mods/{MODULE}/@v/v1.0.0.zip").status_code == 200
    assert info(admin, "mods", "v1.0.0") == 410
    restored = admin.post(f"/go/mods/-/restore/v1.0.0/{MODULE}")
    assert restored.json == {"state": "published"}, restored.text
    assert info(admin, "mods", "v1.0.0") == 200
    promoted = admin.post(f"/go/mods/-/promote/release/v1.0.0/{MODULE}")
    assert promoted.json == {"state": "published"}, promoted.text
    assert info(admin, "release", "v1.0.0") == 200
    again = admin.post(f"/go/mods/-/promote/release/v1.0.0/{MODULE}")
    assert again.status_code == 409, "the target has the number already"


def test_the_gateway_applies_the_cores_permissions(admin, api_factory, repos):
    put(admin, "mods", MODULE, "v1.0.0")
    writer = api_factory.as_user("writer")
    assert admin.put("/v1/repos/mods/bindings/writer", {"roles": ["write"]}).status_code == 200
    assert admin.put("/v1/repos/release/bindings/writer", {"roles": ["write"]}).status_code == 200
    admin.delete(f"/go/mods/{MODULE}/@v/v1.0.0.zip")
    refused = writer.post(f"/go/mods/-/restore/v1.0.0/{MODULE}")
    assert refused.status_code == 403, "restore needs admin, as POST .../restore does"
    admin.post(f"/go/mods/-/restore/v1.0.0/{MODULE}")
    refused = writer.post(f"/go/mods/-/promote/release/v1.0.0/{MODULE}")
    assert refused.status_code == 403, "promote needs the promote permission on the source"
    denied = admin.get("/v1/audit?outcome=denied&repo=mods").json["entries"]
    assert sorted(e["action"] for e in denied) == ["version.promote", "version.restore"]
    assert {e["actor"] for e in denied} == {"writer"}
    assert info(admin, "release", "v1.0.0") == 404
