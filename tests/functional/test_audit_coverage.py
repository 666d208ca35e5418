"""Every mutating route writes an audit row when it succeeds and when it is refused.

The routes come from the live router (core, format plugins and the Helm
and Go examples alike), so a new mutating route without a scenario in ``SCENARIOS``
fails :func:`test_every_mutating_route_has_a_scenario`.  A scenario prepares
what its route needs and says which action the audit log must show; the walk
then sends the request twice: first as a caller the route must refuse (a
reader of the repository, or a read-only token where any user may act), which
must answer 403 and add exactly one ``denied`` row of that action, then as a
caller it must let through, which must succeed and add a ``success`` row of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import func, select, text
from urllib3 import encode_multipart_formdata

from artifortress.audit.models import AuditEntry
from artifortress.auth import tokens
from artifortress.container import Services
from artifortress.testing.helpers import Api, ApiFactory
from examples.goproxy.tests.goproxy_zips import greeter
from plugins.npm.tests.test_npm_http import body as npm_body
from plugins.pypi.tests.pypi_dists import make_sdist, make_wheel, metadata_text
from tests.functional.versions_helpers import add_file, draft, release, upload
from tests.support.routes import example_path, served_operations

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Mutating methods that change nothing, and why they need no audit row.
NOT_MUTATING = {
    ("POST", "/npm/{repo}/-/npm/v1/security/advisories/bulk"): "npm audit: a read with a body",
    ("POST", "/npm/{repo}/-/npm/v1/security/audits/quick"): "npm audit: a read with a body",
    ("POST", "/npm/{repo}/-/v1/login"): "web login is not offered: always 404",
    # A CLI sign-in changes nothing until a signed-in person approves it on the UI (audited
    # there); the token a poll then hands out is audited (oidc.device.token). Both are
    # asserted in tests/e2e/test_oidc_sign_in.py with the test IdP.
    ("POST", "/v1/oidc/device"): "starts a CLI sign-in: anonymous, approved on the UI",
    ("POST", "/v1/oidc/device/token"): "a CLI's poll: its token is audited, e2e-tested",
    # A trusted publisher's exchange needs a real IdP's token to succeed; its success and
    # refusal rows are asserted in tests/functional/publishing/test_trusted_publishing.py.
    ("POST", "/v1/oidc/token"): "token exchange: audited, tested with the test IdP",
    ("POST", "/_/oidc/mint-token"): "token exchange: audited, tested with the test IdP",
    ("POST", "/_/oidc/github/mint-token"): "token exchange: audited, tested with the test IdP",
}

#: Routes whose success is recorded by rows of another route, and why.
AUDITED_ELSEWHERE = {
    ("PUT", "/v1/repos/{repo}/uploads/{upload_id}/parts/{n}"): (
        "a part is a step of its upload session, whose creation and completion are audited"
    ),
}


@dataclasses.dataclass
class Attempt:
    """One request of a scenario, sent once to be refused and once to succeed."""

    #: URL fields (``repo``, ``package``, ...) for the route's template.
    fields: dict[str, str]
    #: The audit action of the refusal, and of the success unless ``success_action`` says.
    action: str
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Who succeeds and who is refused (names of ``World.callers``).
    by: str = "admin"
    refused_by: str = "reader"
    #: A body for the refused attempt if it differs (npm log-in: the restricted token).
    refused_json: Any = None
    #: The actor of the denied row, if not the refused caller's user (npm log-in: the token's).
    refused_actor: str | None = None
    success_action: str | None = None
    #: ``False`` where nothing can succeed (the generic root); the attempt is a 4xx then.
    succeeds: bool = True


class World:
    """Callers, and fresh repositories and versions for each scenario."""

    def __init__(self, api_factory: ApiFactory, admin: Api, services: Services) -> None:
        self.factory = api_factory
        self.services = services
        self.admin = admin
        self.reader = api_factory.as_user("reader")
        self.callers: dict[str, Api] = {
            "admin": admin,
            "reader": self.reader,
            "restricted": api_factory.as_user("reader", read_only=True),
        }
        self._counter = itertools.count(1)

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def repo(self, format: str = "generic", **config: Any) -> str:
        """A new repository the reader may read (and whose policy is *config*)."""
        key = self.unique(format[:2])
        created = self.admin.post("/v1/repos", {"key": key, "format": format})
        assert created.status_code == 201, created.text
        bound = self.admin.put(f"/v1/repos/{key}/bindings/reader", {"roles": ["read"]})
        assert bound.status_code == 200, bound.text
        if config:
            assert self.admin.put(f"/v1/repos/{key}/policy", config).status_code == 200
        return key

    def remote(self) -> str:
        """A new generic remote repository the reader may read (its upstream is never asked)."""
        key = self.unique("re")
        upstream = {"url": "http://127.0.0.1:9/"}
        created = self.admin.post(
            "/v1/repos", {"key": key, "format": "generic", "kind": "remote", "upstream": upstream}
        )
        assert created.status_code == 201, created.text
        bound = self.admin.put(f"/v1/repos/{key}/bindings/reader", {"roles": ["read"]})
        assert bound.status_code == 200, bound.text
        return key

    def published(self, package: str = "tool", format: str = "generic") -> dict[str, str]:
        """URL fields of a new published version (``@scope/name`` is split for the URL)."""
        key = self.repo(format)
        release(self.admin, key, package, "1.0.0", {"tool.bin": self.unique("bytes").encode()})
        fields = {"repo": key, "package": package, "version": "1.0.0"}
        if "/" in package:
            fields["package"], fields["subname"] = package.split("/")
        return fields

    def draft(self, with_file: bool = False) -> dict[str, str]:
        key = self.repo()
        opened = draft(self.admin, key, self.unique("pkg"), "1.0.0")
        if with_file:
            digest = upload(self.admin, key, self.unique("bytes").encode())
            assert add_file(self.admin, key, opened["id"], "a.bin", digest).status_code == 201
        return {"repo": key, "draft_id": str(opened["id"]), "filename": "a.bin"}

    def session(self, key: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        created = self.admin.post(f"/v1/repos/{key}/uploads", {"digest": digest, "size": len(data)})
        assert created.status_code == 201, created.text
        return str(created.json["id"])

    def quarantined(self) -> str:
        """The id of a new quarantine entry (a typosquat of a package just published)."""
        key = self.repo(typosquat=True)
        base = self.unique("tyqo")
        release(self.admin, key, base, "1.0.0", {"a.bin": base.encode()})
        twin = base[:2] + base[3] + base[2] + base[4:]  # one transposition away
        opened = draft(self.admin, key, twin, "1.0.0")
        digest = upload(self.admin, key, twin.encode())
        assert add_file(self.admin, key, opened["id"], "a.bin", digest).status_code == 201
        held = self.admin.post(f"/v1/repos/{key}/packages/versions/drafts/{opened['id']}/publish")
        assert held.status_code == 202, held.text
        entries = self.admin.get("/v1/quarantine").json["quarantine"]
        return str(next(e["id"] for e in entries if e["package"] == twin))

    def dead_event(self) -> str:
        """The id of an outbox event marked dead-lettered (as a worker would after retries)."""
        self.repo()  # emits an event
        with self.services.engine.begin() as conn:
            event_id = conn.execute(text("SELECT max(id) FROM outbox_events")).scalar_one()
            conn.execute(text(f"UPDATE outbox_events SET state = 'dead' WHERE id = {event_id}"))
        return str(event_id)

    def npm_package(self) -> dict[str, str]:
        key = self.repo("npm")
        name = self.unique("js")
        answer = _raw(self.admin, "PUT", f"/npm/{key}/{name}", _npm_publish(name, "1.0.0"))
        assert answer.status_code == 201, answer.text
        return {"repo": key, "name": name}

    def user(self) -> str:
        """A new user (with a token, so it exists)."""
        name = self.unique("user")
        self.factory.token_for(name)
        return name

    def group(self) -> str:
        name = self.unique("group")
        assert self.admin.post("/v1/groups", {"name": name}).status_code == 201
        return name

    def key_id(self, user: str = "reader") -> str:
        return _key_id(self.factory.token_for(user))


# -- request bodies ---------------------------------------------------------------------------


def _key_id(token: str) -> str:
    parsed = tokens.parse_token(token)
    assert parsed is not None
    return parsed[0]


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _npm_publish(name: str, version: str) -> bytes:
    """What ``npm publish`` sends: the packument with the tarball attached."""
    tgz = _tgz({"package/package.json": json.dumps({"name": name, "version": version}).encode()})
    return json.dumps(npm_body(name, version, tgz)).encode()


def _pypi_form(data: bytes, filename: str, filetype: str) -> tuple[bytes, str]:
    fields: dict[str, Any] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "Foo.Bar_baz",
        "version": "1.0",
        "filetype": filetype,
        "pyversion": "py3" if filetype == "bdist_wheel" else "source",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "content": (filename, data, "application/octet-stream"),
    }
    return encode_multipart_formdata(fields)


def _chart(name: str, version: str) -> bytes:
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    return _tgz({f"{name}/Chart.yaml": chart_yaml})


def _raw(api: Api, method: str, path: str, body: bytes, content_type: str = "application/json"):
    headers = api.headers({"Content-Type": content_type})
    return api.client.simulate_request(method, path, headers=headers, body=body)


# -- scenarios ----------------------------------------------------------------------------------

Scenario = Callable[[World], Attempt]


def _core() -> dict[tuple[str, str], Scenario]:
    return {
        ("POST", "/v1/tokens"): lambda w: Attempt(
            {}, "token.create", json={"name": "t"}, refused_by="restricted"
        ),
        ("DELETE", "/v1/tokens/{token_id}"): lambda w: Attempt(
            {"token_id": w.key_id()}, "token.revoke", by="reader", refused_by="restricted"
        ),
        ("POST", "/v1/users"): lambda w: Attempt({}, "user.create", json={"name": w.unique("u")}),
        ("PATCH", "/v1/users/{user}"): lambda w: Attempt(
            {"user": w.user()},
            "user.update",
            json={"disabled": True},
            success_action="user.disable",
        ),
        ("DELETE", "/v1/users/{user}"): lambda w: Attempt({"user": w.user()}, "user.delete"),
        ("POST", "/v1/groups"): lambda w: Attempt({}, "group.create", json={"name": w.unique("g")}),
        ("DELETE", "/v1/groups/{group}"): lambda w: Attempt({"group": w.group()}, "group.delete"),
        ("PUT", "/v1/groups/{group}/members/{user}"): lambda w: Attempt(
            {"group": w.group(), "user": w.user()}, "group.member.add"
        ),
        ("DELETE", "/v1/groups/{group}/members/{user}"): _member_remove,
        ("PUT", "/v1/repos/{repo}/group-bindings/{group}"): lambda w: Attempt(
            {"repo": w.repo(), "group": w.group()}, "group_binding.set", json={"roles": ["read"]}
        ),
        # A remote: the kind's settings (and its password) take the same audited path.
        ("POST", "/v1/repos"): lambda w: Attempt(
            {},
            "repo.create",
            json={
                "key": w.unique("new"),
                "format": "generic",
                "kind": "remote",
                "upstream": {"url": "http://127.0.0.1:9/", "username": "u", "password": "p"},
            },
        ),
        ("PATCH", "/v1/repos/{repo}"): lambda w: Attempt(
            {"repo": w.repo()}, "repo.update", json={"description": "x"}
        ),
        ("DELETE", "/v1/repos/{repo}"): lambda w: Attempt({"repo": w.repo()}, "repo.delete"),
        ("PUT", "/v1/repos/{repo}/bindings/{user}"): lambda w: Attempt(
            {"repo": w.repo(), "user": "reader"}, "binding.set", json={"roles": ["read"]}
        ),
        ("PUT", "/v1/repos/{repo}/policy"): lambda w: Attempt(
            {"repo": w.repo()}, "policy.set", json={"typosquat": True}
        ),
        ("DELETE", "/v1/repos/{repo}/cache"): lambda w: Attempt(
            {"repo": w.remote()}, "remote.cache.purge"
        ),
        ("POST", "/v1/repos/{repo}/webhooks"): lambda w: Attempt(
            {"repo": w.repo()}, "webhook.create", json={"url": "http://127.0.0.1:9/hook"}
        ),
        ("DELETE", "/v1/repos/{repo}/webhooks/{hook_id}"): _webhook_delete,
        ("POST", "/v1/repos/{repo}/trusted-publishers"): lambda w: Attempt(
            {"repo": w.repo()}, "publisher.create", json=_GITHUB_PUBLISHER
        ),
        ("DELETE", "/v1/repos/{repo}/trusted-publishers/{publisher_id}"): _publisher_delete,
        ("POST", "/v1/quarantine/{quarantine_id}/release"): lambda w: Attempt(
            {"quarantine_id": w.quarantined()}, "quarantine.release"
        ),
        ("POST", "/v1/quarantine/{quarantine_id}/reject"): lambda w: Attempt(
            {"quarantine_id": w.quarantined()}, "quarantine.reject", json={"reason": "no"}
        ),
        ("POST", "/v1/admin/outbox/{event_id}/retry"): lambda w: Attempt(
            {"event_id": w.dead_event()}, "outbox.retry"
        ),
    }


def _member_remove(w: World) -> Attempt:
    fields = {"group": w.group(), "user": w.user()}
    added = w.admin.put("/v1/groups/{group}/members/{user}".format(**fields))
    assert added.status_code == 200, added.text
    return Attempt(fields, "group.member.remove")


_GITHUB_PUBLISHER = {"kind": "github", "repository": "octo/app", "workflow": "release.yml"}


def _publisher_delete(w: World) -> Attempt:
    key = w.repo()
    made = w.admin.post(f"/v1/repos/{key}/trusted-publishers", _GITHUB_PUBLISHER)
    assert made.status_code == 201, made.text
    return Attempt({"repo": key, "publisher_id": str(made.json["id"])}, "publisher.delete")


def _webhook_delete(w: World) -> Attempt:
    key = w.repo()
    hook = w.admin.post(f"/v1/repos/{key}/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201, hook.text
    return Attempt({"repo": key, "hook_id": str(hook.json["id"])}, "webhook.delete")


def _uploads() -> dict[tuple[str, str], Scenario]:
    base = "/v1/repos/{repo}/uploads"

    def create(w: World) -> Attempt:
        data = w.unique("bytes").encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return Attempt(
            {"repo": w.repo()}, "upload.create", json={"digest": digest, "size": len(data)}
        )

    def abort(w: World) -> Attempt:
        key = w.repo()
        upload_id = w.session(key, w.unique("bytes").encode())
        return Attempt({"repo": key, "upload_id": upload_id}, "upload.abort")

    def part(w: World) -> Attempt:
        key, data = w.repo(), w.unique("bytes").encode()
        fields = {"repo": key, "upload_id": w.session(key, data), "n": "1"}
        octets = {"Content-Type": "application/octet-stream"}
        return Attempt(fields, "upload.part", body=data, headers=octets)

    def complete(w: World) -> Attempt:
        key, data = w.repo(), w.unique("bytes").encode()
        upload_id = w.session(key, data)
        url = f"/v1/repos/{key}/uploads/{upload_id}/parts/1"
        sent = _raw(w.admin, "PUT", url, data, "application/octet-stream")
        assert sent.status_code in (200, 201, 204), sent.text
        return Attempt({"repo": key, "upload_id": upload_id}, "upload.commit")

    return {
        ("POST", base): create,
        ("DELETE", f"{base}/{{upload_id}}"): abort,
        ("PUT", f"{base}/{{upload_id}}/parts/{{n}}"): part,
        ("POST", f"{base}/{{upload_id}}/complete"): complete,
    }


def _drafts() -> dict[tuple[str, str], Scenario]:
    base = "/v1/repos/{repo}/packages/versions/drafts"

    def add(w: World) -> Attempt:
        fields = w.draft()
        digest = upload(w.admin, fields["repo"], w.unique("bytes").encode())
        return Attempt(fields, "draft.add_file", json={"filename": "b.bin", "digest": digest})

    return {
        ("POST", base): lambda w: Attempt(
            {"repo": w.repo()}, "draft.create", json={"package": "p", "version": "1.0.0"}
        ),
        ("DELETE", f"{base}/{{draft_id}}"): lambda w: Attempt(w.draft(), "draft.discard"),
        ("POST", f"{base}/{{draft_id}}/artifacts"): add,
        ("DELETE", f"{base}/{{draft_id}}/artifacts/{{filename}}"): lambda w: Attempt(
            w.draft(with_file=True), "draft.remove_file"
        ),
        ("POST", f"{base}/{{draft_id}}/publish"): lambda w: Attempt(
            w.draft(with_file=True), "version.publish"
        ),
    }


def _versions(w: World, package: str, format: str) -> dict[tuple[str, str], Scenario]:
    """Routes of one published version, with *package* in the URL shape it needs."""
    shape = "{package}/{subname}" if "/" in package else "{package}"
    base = f"/v1/repos/{{repo}}/packages/{shape}"
    version = f"{base}/versions/{{version}}"

    def published() -> dict[str, str]:
        return w.published(package, format)

    def then(change: str, json_body: Any = None) -> Callable[[dict[str, str]], dict[str, str]]:
        def apply(fields: dict[str, str]) -> dict[str, str]:
            path = example_path(version + change, fields)
            done = w.admin.request("DELETE" if not json_body else "POST", path, json_body)
            assert done.status_code == 200, done.text
            return fields

        return apply

    def promote(w: World) -> Attempt:
        fields = published()
        return Attempt(fields, "version.promote", json={"target": w.repo(format)})

    def label_delete(w: World) -> Attempt:
        fields = published()
        path = example_path(f"{base}/labels/beta", fields)
        assert w.admin.put(path, {"version": "1.0.0"}).status_code == 200
        return Attempt({**fields, "label": "beta"}, "label.delete")

    return {
        ("DELETE", version): lambda w: Attempt(published(), "version.delete"),
        ("POST", f"{version}/yank"): lambda w: Attempt(
            published(), "version.yank", json={"reason": "r"}
        ),
        ("DELETE", f"{version}/yank"): lambda w: Attempt(
            then("/yank", {"reason": "r"})(published()), "version.unyank"
        ),
        ("POST", f"{version}/deprecation"): lambda w: Attempt(
            published(), "version.deprecate", json={"message": "m"}
        ),
        ("DELETE", f"{version}/deprecation"): lambda w: Attempt(
            then("/deprecation", {"message": "m"})(published()), "version.undeprecate"
        ),
        ("POST", f"{version}/restore"): lambda w: Attempt(then("")(published()), "version.restore"),
        ("POST", f"{version}/promote"): promote,
        ("PUT", f"{base}/labels/{{label}}"): lambda w: Attempt(
            {**published(), "label": "beta"}, "label.set", json={"version": "1.0.0"}
        ),
        ("DELETE", f"{base}/labels/{{label}}"): label_delete,
    }


def _generic() -> dict[tuple[str, str], Scenario]:
    def append(w: World) -> Attempt:
        """A second file into a published version (the first one published it)."""
        fields = w.published()
        path = f"{fields['package']}/{fields['version']}/second.bin"
        return Attempt(
            {"repo": fields["repo"], "path": path},
            "version.publish",
            body=w.unique("bytes").encode(),
            headers={"Content-Type": "application/octet-stream"},
            success_action="version.add_files",
        )

    def delete(w: World) -> Attempt:
        fields = w.published()
        path = f"{fields['package']}/{fields['version']}/"
        return Attempt({"repo": fields["repo"], "path": path}, "version.delete")

    return {
        ("PUT", "/generic/{repo}/{path}"): append,
        ("DELETE", "/generic/{repo}/{path}"): delete,
        ("PUT", "/generic/{repo}/"): lambda w: Attempt(
            {"repo": w.repo()}, "version.publish", body=b"x", succeeds=False
        ),
        ("DELETE", "/generic/{repo}/"): lambda w: Attempt(
            {"repo": w.repo()}, "version.delete", succeeds=False
        ),
    }


def _pypi(tmp: Path) -> dict[tuple[str, str], Scenario]:
    def wheel(w: World) -> Attempt:
        """A first upload publishes the release."""
        data = make_wheel(tmp).read_bytes()
        body, content_type = _pypi_form(data, "foo_bar_baz-1.0-py3-none-any.whl", "bdist_wheel")
        headers = {"Content-Type": content_type}
        return Attempt({"repo": w.repo("pypi")}, "version.publish", body=body, headers=headers)

    def appended(w: World) -> Attempt:
        """A wheel for a release its sdist published: appended files are audited too."""
        key = w.repo("pypi")
        sdist = make_sdist(tmp, metadata=metadata_text().encode()).read_bytes()
        first = _raw(
            w.admin,
            "POST",
            f"/pypi/{key}/legacy/",
            *_pypi_form(sdist, "foo_bar_baz-1.0.tar.gz", "sdist"),
        )
        assert first.status_code == 200, first.text
        data = make_wheel(tmp).read_bytes()
        body, content_type = _pypi_form(data, "foo_bar_baz-1.0-py3-none-any.whl", "bdist_wheel")
        return Attempt(
            {"repo": key},
            "version.publish",
            body=body,
            headers={"Content-Type": content_type},
            success_action="version.add_files",
        )

    return {("POST", "/pypi/{repo}/legacy"): wheel, ("POST", "/pypi/{repo}/legacy/"): appended}


def _npm() -> dict[tuple[str, str], Scenario]:
    def login(w: World) -> Attempt:
        def password(caller: str) -> dict[str, str]:
            return {"name": "reader", "password": w.callers[caller].token or ""}

        return Attempt(
            {"repo": w.repo("npm"), "user": "reader"},
            "token.create",
            json=password("reader"),
            by="anonymous",
            refused_by="anonymous",
            refused_json=password("restricted"),
            refused_actor="reader",
        )

    def publish(w: World) -> Attempt:
        name = w.unique("js")
        return Attempt(
            {"repo": w.repo("npm"), "path": name},
            "version.publish",
            body=_npm_publish(name, "1.0.0"),
        )

    def tag(change: str) -> Scenario:
        def scenario(w: World) -> Attempt:
            package = w.npm_package()
            fields = {"repo": package["repo"], "path": f"{package['name']}/dist-tags/beta"}
            if change == "label.delete":
                path = example_path("/npm/{repo}/-/package/{path}", fields)
                assert _raw(w.admin, "PUT", path, b'"1.0.0"').status_code == 200
                return Attempt(fields, change)
            return Attempt(fields, change, body=b'"1.0.0"')

        return scenario

    def unpublish(w: World) -> Attempt:
        package = w.npm_package()
        fields = {"repo": package["repo"], "path": f"{package['name']}/-rev/1"}
        return Attempt(fields, "version.delete")

    tokens_url = "/npm/{repo}/-/npm/v1/tokens"
    return {
        ("PUT", "/npm/{repo}/-/user/org.couchdb.user:{user}"): login,
        ("DELETE", "/npm/{repo}/-/user/token/{token}"): lambda w: Attempt(
            {"repo": w.repo("npm"), "token": w.factory.token_for("reader")},
            "token.revoke",
            by="reader",
            refused_by="restricted",
        ),
        ("POST", tokens_url): lambda w: Attempt(
            {"repo": w.repo("npm")},
            "token.create",
            json={"password": w.reader.token},
            by="reader",
            refused_by="restricted",
            refused_json={"password": w.callers["restricted"].token},
        ),
        ("DELETE", f"{tokens_url}/token/{{key}}"): lambda w: Attempt(
            {"repo": w.repo("npm"), "key": w.key_id()},
            "token.revoke",
            by="reader",
            refused_by="restricted",
        ),
        ("PUT", "/npm/{repo}/-/package/{path}"): tag("label.set"),
        ("POST", "/npm/{repo}/-/package/{path}"): tag("label.set"),
        ("DELETE", "/npm/{repo}/-/package/{path}"): tag("label.delete"),
        ("PUT", "/npm/{repo}/{path}"): publish,
        ("DELETE", "/npm/{repo}/{path}"): unpublish,
    }


def _helm() -> dict[tuple[str, str], Scenario]:
    def delete(w: World) -> Attempt:
        key = w.repo("helm")
        chart = _chart("web", "1.0.0")
        uploaded = _raw(w.admin, "POST", f"/helm/{key}/api/charts", chart, "application/gzip")
        assert uploaded.status_code == 201, uploaded.text
        return Attempt({"repo": key, "name": "web", "version": "1.0.0"}, "version.delete")

    return {
        ("POST", "/helm/{repo}/api/charts"): lambda w: Attempt(
            {"repo": w.repo("helm")}, "version.publish", body=_chart("web", "1.0.0")
        ),
        ("DELETE", "/helm/{repo}/api/charts/{name}/{version}"): delete,
    }


def _go() -> dict[tuple[str, str], Scenario]:
    module = "example.com/hello"
    url = f"{module}/@v/v1.0.0.zip"

    def delete(w: World) -> Attempt:
        key = w.repo("go")
        uploaded = _raw(
            w.admin, "PUT", f"/go/{key}/{url}", greeter(module, "v1.0.0"), "application/zip"
        )
        assert uploaded.status_code == 201, uploaded.text
        return Attempt({"repo": key, "path": url}, "version.delete")

    return {
        ("PUT", "/go/{repo}/{path}"): lambda w: Attempt(
            {"repo": w.repo("go"), "path": url}, "version.publish", body=greeter(module, "v1.0.0")
        ),
        ("DELETE", "/go/{repo}/{path}"): delete,
    }


def _oci() -> dict[tuple[str, str], Scenario]:
    config = b'{"os": "linux"}'
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest,
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    manifest_type = "application/vnd.oci.image.manifest.v1+json"

    def with_config(w: World) -> str:
        key = w.repo("oci")
        pushed = _raw(w.admin, "POST", f"/v2/{key}/app/blobs/uploads/?digest={digest}", config)
        assert pushed.status_code == 201, pushed.text
        return key

    def chunk(w: World) -> Attempt:
        key = w.repo("oci")
        started = _raw(w.admin, "POST", f"/v2/{key}/app/blobs/uploads/", b"")
        rest = started.headers["location"].split("/", 3)[3]
        return Attempt({"repo": key, "rest": rest}, "blob.ingest", body=config)

    def delete(w: World) -> Attempt:
        key = with_config(w)
        pushed = _raw(w.admin, "PUT", f"/v2/{key}/app/manifests/1.0", manifest, manifest_type)
        assert pushed.status_code == 201, pushed.text
        return Attempt(
            {"repo": key, "rest": f"app/manifests/{digest_of(manifest)}"}, "version.delete"
        )

    def digest_of(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    return {
        ("POST", "/v2/{repo}/{rest}"): lambda w: Attempt(
            {"repo": w.repo("oci"), "rest": f"app/blobs/uploads/?digest={digest}"},
            "blob.ingest",
            body=config,
        ),
        ("PATCH", "/v2/{repo}/{rest}"): chunk,
        ("PUT", "/v2/{repo}/{rest}"): lambda w: Attempt(
            {"repo": with_config(w), "rest": "app/manifests/1.0"},
            "version.publish",
            body=manifest,
            headers={"Content-Type": manifest_type},
        ),
        ("DELETE", "/v2/{repo}/{rest}"): delete,
    }


def scenarios(w: World, tmp: Path) -> dict[tuple[str, str], Scenario]:
    return {
        **_core(),
        **_uploads(),
        **_drafts(),
        **_versions(w, "tool", "generic"),
        **_versions(w, "@scope/tool", "npm"),
        **_generic(),
        **_pypi(tmp),
        **_npm(),
        **_helm(),
        **_go(),
        **_oci(),
    }


# -- the walk -----------------------------------------------------------------------------------


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"webhook_allow_private": "true"}


@pytest.fixture
def world(api_factory, admin, services) -> World:
    return World(api_factory, admin, services)


def _mutating_routes(app: Any) -> dict[tuple[str, str], str]:
    """(method, path in OpenAPI syntax) -> falcon template, of every mutating operation."""
    return {
        (op.method, op.path): op.template for op in served_operations(app) if op.method in MUTATING
    }


def test_every_mutating_route_has_a_scenario(app, world, tmp_path):
    live = set(_mutating_routes(app))
    known = set(scenarios(world, tmp_path)) | set(NOT_MUTATING)
    assert sorted(live - known) == [], "add a scenario (or a NOT_MUTATING reason) for these"
    assert set(AUDITED_ELSEWHERE) <= known


def _send(
    api: Api, method: str, path: str, attempt: Attempt, refused: bool
) -> falcon.testing.Result:
    body = attempt.refused_json if refused and attempt.refused_json is not None else attempt.json
    if attempt.body is not None:
        return api.client.simulate_request(
            method, path, headers=api.headers(attempt.headers), body=attempt.body
        )
    return api.request(method, path, body, headers=attempt.headers)


@dataclasses.dataclass(frozen=True)
class Row:
    action: str
    outcome: str
    actor: str
    repo_key: str | None


def _rows_since(services: Services, last_id: int) -> list[Row]:
    """The rows written after *last_id*, in order."""
    with services.sessions() as db:
        rows = db.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor, AuditEntry.repo_key)
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
        )
        return [Row(*row) for row in rows]


def _last_id(services: Services) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.max(AuditEntry.id))) or 0


def _callers(world: World) -> dict[str, Api]:
    return {**world.callers, "anonymous": world.factory.anonymous()}


def _refusal_problems(
    services: Services, api: Api, route: tuple[str, str], url: str, attempt: Attempt
) -> list[str]:
    """The refused attempt must be a 403 that adds one denied row: action, actor, repository."""
    before = _last_id(services)
    result = _send(api, route[0], url, attempt, refused=True)
    rows = _rows_since(services, before)
    if result.status_code != 403:
        return [f"{route} by {attempt.refused_by}: {result.status_code}, want 403"]
    actor = attempt.refused_actor or api.user or "anonymous"
    wanted = Row(attempt.action, "denied", actor, attempt.fields.get("repo"))
    if rows != [wanted]:
        return [f"{route} refused: audit rows {rows}, want [{wanted}]"]
    return []


def _success_problems(
    services: Services, api: Api, route: tuple[str, str], url: str, attempt: Attempt
) -> list[str]:
    """The allowed attempt must succeed and add a success row of its action."""
    before = _last_id(services)
    result = _send(api, route[0], url, attempt, refused=False)
    rows = _rows_since(services, before)
    answer = f"{route} by {attempt.by}: {result.status_code} {result.text[:200]} {rows}"
    if not attempt.succeeds:
        succeeded = any(row.outcome == "success" for row in rows)
        return [f"{answer}, want a 4xx"] if succeeded or not 400 <= result.status_code < 500 else []
    if not 200 <= result.status_code < 300:
        return [answer]
    wanted = attempt.success_action or attempt.action
    if route not in AUDITED_ELSEWHERE and (wanted, "success") not in {
        (row.action, row.outcome) for row in rows
    }:
        return [f"{answer}: want a {wanted!r} success row"]
    return []


def test_every_mutating_route_audits_success_and_refusal(app, world, services, tmp_path):
    live = _mutating_routes(app)
    callers = _callers(world)
    wrong: list[str] = []
    walked = 0
    for route, scenario in scenarios(world, tmp_path).items():
        if route not in live:
            continue  # a plugin that is not installed here
        attempt = scenario(world)
        url = example_path(live[route], attempt.fields)
        wrong += _refusal_problems(services, callers[attempt.refused_by], route, url, attempt)
        wrong += _success_problems(services, callers[attempt.by], route, url, attempt)
        walked += 1
    assert wrong == []
    assert walked == len(set(live) - set(NOT_MUTATING))


def _npm_change(w: World, package: dict[str, str], change: str) -> tuple[str, str, bytes | None]:
    """(method, path, body) of what npm sends to deprecate or unpublish one version."""
    name, repo = package["name"], package["repo"]
    if change == "tarball":
        return "DELETE", f"/npm/{repo}/{name}/-/{name}-1.0.0.tgz/-rev/2", None
    doc = w.admin.get(f"/npm/{repo}/{name}?write=true").json
    if change == "deprecate":
        doc["versions"]["1.0.0"]["deprecated"] = "use 2"
        return "PUT", f"/npm/{repo}/{name}", json.dumps(doc).encode()
    doc["versions"].pop("1.0.0")
    return "PUT", f"/npm/{repo}/{name}/-rev/1", json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("change", "action"),
    [
        ("deprecate", "version.publish"),
        ("unpublish", "version.publish"),
        ("tarball", "version.delete"),
    ],
)
def test_npm_flows_sharing_a_route_audit_their_refusals(world, services, change, action):
    """npm deprecate and unpublish use the routes the walk covers with other bodies and paths."""
    package = world.npm_package()
    method, path, body = _npm_change(world, package, change)
    before = _last_id(services)
    refused = _raw(world.reader, method, path, body or b"")
    assert refused.status_code == 403, refused.text
    assert _rows_since(services, before) == [Row(action, "denied", "reader", package["repo"])]
