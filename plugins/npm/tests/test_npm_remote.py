"""Remote and virtual npm repositories in process, against an upstream registry on 127.0.0.1.

The upstream is a stdlib server answering packuments and tarballs from a dict
and logging every request, so each test can count what reached it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import pytest
from artifortress_npm.proxy import _RenderedCache
from npm_testkit import Request, Response, serve

from artifortress.plugin import Rendered
from artifortress.testing.helpers import Api, ApiFactory

MakeRepo = Callable[..., dict[str, Any]]
ABBREVIATED = "application/vnd.npm.install-v1+json"
HOST = "http://falconframework.org"  # the test client's


def tgz(name: str, version: str) -> bytes:
    """A real npm tarball, ``package/package.json``, the same bytes each time."""
    buffer = io.BytesIO()
    data = json.dumps({"name": name, "version": version}).encode()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass
class Registry:
    """The upstream: packuments by escaped name, tarballs by path, and what it was asked."""

    url: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        found = self.routes.get(unquote(request.path), (404, "text/plain", b"no"))
        status, content_type, body = found
        return status, {"Content-Type": content_type}, body

    def hits(self, path: str) -> int:
        """Requests for *path* (as decoded: ``/@scope/name`` whether sent with %2f or %2F)."""
        return sum(1 for request in self.log if unquote(request.path) == path)

    def package(
        self,
        name: str,
        versions: dict[str, bytes | None],
        *,
        tags: dict[str, str] | None = None,
        deprecated: dict[str, str] | None = None,
        integrity: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Serve a full packument of *name* and its tarballs (``None``: generated)."""
        bare = name.split("/")[-1]
        documents, times = {}, {"created": "2020-01-01T00:00:00.000Z"}
        for number, given in versions.items():
            data = given if given is not None else tgz(name, number)
            path = f"/files/{bare}-{number}.tgz"
            self.routes[path] = (200, "application/octet-stream", data)
            documents[number] = {
                "name": name,
                "version": number,
                "license": "MIT",
                "dist": {
                    "tarball": f"{self.url}files/{bare}-{number}.tgz",
                    "integrity": (integrity or {}).get(number, sri(data)),
                    "shasum": hashlib.sha1(data).hexdigest(),
                },
                **({"deprecated": deprecated[number]} if number in (deprecated or {}) else {}),
            }
            times[number] = f"2021-01-0{len(times)}T00:00:00.000Z"
        times["modified"] = "2022-02-02T00:00:00.000Z"
        document = {
            "_id": name,
            "name": name,
            "description": f"{name} from upstream",
            "dist-tags": tags or {"latest": list(versions)[-1]},
            "versions": documents,
            "time": times,
            "readme": "upstream readme",
        }
        self.routes[f"/{name}"] = (200, "application/json", json.dumps(document).encode())
        return document


@pytest.fixture
def registry() -> Iterator[Registry]:
    found = Registry()
    with serve(found.handle) as (url, log):
        found.url, found.log = url, log
        yield found


@pytest.fixture
def remote(make_repo: MakeRepo, registry: Registry) -> str:
    make_repo("npm-up", format="npm", kind="remote", upstream={"url": registry.url})
    return "/npm/npm-up"


@pytest.fixture
def virtual(make_repo: MakeRepo, remote: str) -> str:
    make_repo("js", format="npm")
    make_repo("all", format="npm", kind="virtual", members=["js", "npm-up"])
    return "/npm/all"


def publish(admin: Api, repo: str, name: str, version: str) -> None:
    data = tgz(name, version)
    document = {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {"integrity": sri(data)}}},
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
                "length": len(data),
            }
        },
    }
    answer = admin.put(f"{repo}/{name.replace('/', '%2f')}", document)
    assert answer.status_code == 201, answer.text


def test_a_remote_serves_the_upstream_packument_with_tarballs_through_the_gateway(
    admin: Api, registry: Registry, remote: str
) -> None:
    registry.package(
        "@acme/lib",
        {"1.0.0": None, "2.0.0-rc.1": None},
        tags={"latest": "1.0.0", "next": "2.0.0-rc.1"},
        deprecated={"1.0.0": "use 2"},
    )
    full = admin.get(f"{remote}/@acme%2flib")
    assert full.status_code == 200, full.text
    document = full.json
    assert document["dist-tags"] == {"latest": "1.0.0", "next": "2.0.0-rc.1"}
    assert document["time"]["2.0.0-rc.1"] == "2021-01-02T00:00:00.000Z"
    assert document["readme"] == "upstream readme"
    old = document["versions"]["1.0.0"]
    assert old["deprecated"] == "use 2"
    assert old["dist"]["tarball"] == f"{HOST}{remote}/@acme/lib/-/lib-1.0.0.tgz"
    assert old["dist"]["integrity"] == sri(tgz("@acme/lib", "1.0.0"))
    short = admin.get(f"{remote}/@acme/lib", headers={"Accept": ABBREVIATED})
    assert short.headers["content-type"].startswith(ABBREVIATED)
    assert set(short.json) == {"name", "modified", "dist-tags", "versions"}
    assert short.json["versions"]["1.0.0"]["deprecated"] == "use 2"
    assert short.json["versions"]["1.0.0"]["dist"] == old["dist"]
    assert short.headers["etag"] != full.headers["etag"]
    assert registry.hits("/@acme/lib") == 1, "one upstream document serves both forms"
    again = admin.get(f"{remote}/@acme/lib", headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304
    version = admin.get(f"{remote}/@acme/lib/next")
    assert version.json["version"] == "2.0.0-rc.1"
    assert version.json["dist"]["tarball"].endswith("/npm/npm-up/@acme/lib/-/lib-2.0.0-rc.1.tgz")
    tags = admin.get(f"{remote}/-/package/@acme%2flib/dist-tags")
    assert tags.json == {"latest": "1.0.0", "next": "2.0.0-rc.1"}


def test_a_tarball_is_fetched_once_verified_and_then_served_locally(
    admin: Api, registry: Registry, remote: str
) -> None:
    registry.package("left-pad", {"1.3.0": None})
    url = f"{remote}/left-pad/-/left-pad-1.3.0.tgz"
    first = admin.get(url)
    assert first.status_code == 200, first.text
    assert first.content == tgz("left-pad", "1.3.0")
    assert admin.get(url).content == first.content
    assert registry.hits("/files/left-pad-1.3.0.tgz") == 1
    held = admin.get("/v1/repos/npm-up/packages/left-pad/versions/1.3.0").json
    assert held["published_by"] == "remote:npm-up"
    assert held["metadata"]["license"] == "MIT"


def test_a_tampered_upstream_tarball_is_refused_and_not_kept(
    admin: Api, registry: Registry, remote: str
) -> None:
    registry.package(
        "evil",
        {"1.0.0": b"not the bytes the packument announced"},
        integrity={"1.0.0": sri(tgz("evil", "1.0.0"))},
    )
    url = f"{remote}/evil/-/evil-1.0.0.tgz"
    with pytest.raises(ConnectionResetError):  # streamed: ends short of its last byte
        admin.get(url)
    answer = admin.get(url, headers={"Range": "bytes=0-9"})  # fetched first, then answered
    assert answer.status_code == 502, answer.text
    assert "integrity" in answer.json["error"]
    assert registry.hits("/files/evil-1.0.0.tgz") == 2, "nothing was kept"
    assert admin.get("/v1/repos/npm-up/packages/evil").status_code == 404


def test_a_name_the_upstream_does_not_know_is_a_404(admin: Api, remote: str) -> None:
    answer = admin.get(f"{remote}/nothing-here")
    assert answer.status_code == 404
    assert admin.get(f"{remote}/nothing-here/-/nothing-here-1.0.0.tgz").status_code == 404


def test_a_virtual_merges_hosted_and_remote_packages(
    admin: Api, registry: Registry, virtual: str
) -> None:
    registry.package("express", {"4.0.0": None, "4.21.2": None})
    publish(admin, "/npm/js", "@me/app", "1.0.0")
    public = admin.get(f"{virtual}/express").json
    assert sorted(public["versions"]) == ["4.0.0", "4.21.2"]
    tarball = public["versions"]["4.21.2"]["dist"]["tarball"]
    assert tarball == f"{HOST}/npm/all/express/-/express-4.21.2.tgz"
    assert admin.get(tarball.removeprefix(HOST)).content == tgz("express", "4.21.2")
    private = admin.get(f"{virtual}/@me%2fapp", headers={"Accept": ABBREVIATED}).json
    assert private["versions"]["1.0.0"]["dist"]["tarball"].endswith(
        "/npm/all/@me/app/-/app-1.0.0.tgz"
    )
    assert admin.get(f"{virtual}/@me/app/-/app-1.0.0.tgz").content == tgz("@me/app", "1.0.0")
    assert registry.hits("/@me/app") == 0, "a hosted name is never asked upstream"


def test_a_hosted_name_shadows_a_higher_upstream_version(
    admin: Api, registry: Registry, virtual: str
) -> None:
    registry.package("internal-tool", {"1.0.0": None, "99.0.0": None})
    publish(admin, "/npm/js", "internal-tool", "1.0.0")
    document = admin.get(f"{virtual}/internal-tool").json
    assert list(document["versions"]) == ["1.0.0"]
    assert document["dist-tags"] == {"latest": "1.0.0"}
    assert admin.get(f"{virtual}/internal-tool/-/internal-tool-99.0.0.tgz").status_code == 404
    assert admin.get(f"{virtual}/internal-tool/99.0.0").status_code == 404
    assert registry.hits("/files/internal-tool-99.0.0.tgz") == 0


def test_a_virtual_serves_hosted_packages_while_the_upstream_fails(
    admin: Api, registry: Registry, virtual: str, make_repo: MakeRepo
) -> None:
    publish(admin, "/npm/js", "mine", "1.0.0")
    make_repo("dead", format="npm", kind="remote", upstream={"url": "http://127.0.0.1:9/"})
    make_repo("both", format="npm", kind="virtual", members=["dead", "js"])
    assert admin.get("/npm/both/mine").json["dist-tags"] == {"latest": "1.0.0"}
    unknown = admin.get("/npm/both/not-anywhere")
    assert unknown.status_code == 502
    assert "127.0.0.1" in unknown.json["error"]


def test_twenty_concurrent_gets_of_a_cold_tarball_reach_the_upstream_once(
    admin: Api, registry: Registry, virtual: str
) -> None:
    registry.package("popular", {"1.0.0": None})
    url = f"{virtual}/popular/-/popular-1.0.0.tgz"
    assert admin.get(f"{virtual}/popular").status_code == 200
    start, results = threading.Barrier(20), []

    def fetch() -> None:
        start.wait()
        results.append(admin.get(url).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [200] * 20
    assert registry.hits("/files/popular-1.0.0.tgz") == 1


def test_the_remote_s_policies_judge_what_comes_from_upstream(
    admin: Api, registry: Registry, remote: str
) -> None:
    """The license the upstream's packument gives is what the policy reads."""
    policy = admin.put("/v1/repos/npm-up/policy", {"allowed_licenses": ["Apache-2.0"]})
    assert policy.status_code == 200
    registry.package("mit-only", {"1.0.0": None})  # "license": "MIT"
    url = f"{remote}/mit-only/-/mit-only-1.0.0.tgz"
    refused = admin.get(url, headers={"Range": "bytes=0-"})  # answered after the fetch
    assert refused.status_code == 403, refused.text
    assert "MIT" in refused.json["error"]
    assert admin.get("/v1/repos/npm-up/packages/mit-only").status_code == 404


def test_the_process_cache_of_proxied_packuments_is_bounded_by_count_and_bytes() -> None:
    cache = _RenderedCache(size=3, max_bytes=100)

    def doc(size: int) -> Rendered:
        return Rendered(b"x" * size, "application/json", '"e"', datetime.now(UTC))

    for key in range(4):
        cache.put((key,), doc(10))
    assert [cache.get((key,)) is not None for key in range(4)] == [False, True, True, True]
    cache.put(("big",), doc(90))  # 120 bytes: the oldest go until 100 are left
    assert cache.get(("big",)) is not None
    assert [cache.get((key,)) is not None for key in range(4)] == [False, False, False, True]
    cache.put(("huge",), doc(101))
    assert cache.get(("huge",)) is None
    assert cache.get(("big",)) is not None


def test_a_virtual_shows_a_reader_only_the_members_they_may_read(
    admin: Api, api_factory: ApiFactory, registry: Registry, virtual: str
) -> None:
    registry.package("internal-tool", {"99.0.0": None})
    registry.package("express", {"4.21.2": None})
    publish(admin, "/npm/js", "internal-tool", "1.0.0")
    reader = api_factory.as_user("reader", roles={"all": ["read"], "npm-up": ["read"]})
    assert reader.get(f"{virtual}/express").status_code == 200
    hidden = reader.get(f"{virtual}/internal-tool")
    assert hidden.status_code == 404, "neither js's version nor the upstream's"
    assert reader.get(f"{virtual}/internal-tool/-/internal-tool-1.0.0.tgz").status_code == 404
    assert reader.get(f"{virtual}/internal-tool/-/internal-tool-99.0.0.tgz").status_code == 404
    assert registry.hits("/internal-tool") == 0


def test_npm_search_in_a_virtual_finds_each_member_s_packages_once(
    admin: Api, registry: Registry, virtual: str, drain_events: Callable[[], Any]
) -> None:
    registry.package("widget-public", {"1.0.0": None})
    registry.package("widget-twice", {"9.0.0": None})
    assert admin.get(f"{virtual}/widget-public/-/widget-public-1.0.0.tgz").status_code == 200
    assert admin.get("/npm/npm-up/widget-twice/-/widget-twice-9.0.0.tgz").status_code == 200
    publish(admin, "/npm/js", "widget-private", "1.0.0")
    publish(admin, "/npm/js", "widget-twice", "1.0.0")  # claimed after the remote cached it
    drain_events()
    found = admin.get(f"{virtual}/-/v1/search", params={"text": "widget"}).json
    shown = {hit["package"]["name"]: hit["package"]["version"] for hit in found["objects"]}
    assert shown == {"widget-public": "1.0.0", "widget-private": "1.0.0", "widget-twice": "1.0.0"}
    assert found["total"] == 3


def test_a_merge_pattern_lets_a_hosted_name_merge_upstream_versions(
    admin: Api, registry: Registry, remote: str, make_repo: MakeRepo
) -> None:
    other = tgz("shared-lib", "0.0.0-other")  # upstream's 1.0.0: other bytes than the hosted one
    registry.package("shared-lib", {"1.0.0": other, "2.0.0": None}, tags={"latest": "2.0.0"})
    make_repo("js", format="npm")
    make_repo(
        "merged",
        format="npm",
        kind="virtual",
        members=["js", "npm-up"],
        merge_patterns=["shared-*"],
    )
    publish(admin, "/npm/js", "shared-lib", "1.0.0")
    document = admin.get("/npm/merged/shared-lib").json
    assert sorted(document["versions"]) == ["1.0.0", "2.0.0"]
    assert document["dist-tags"] == {"latest": "1.0.0"}, "hosted members' tags come first"
    assert document["versions"]["1.0.0"]["dist"]["integrity"] == sri(tgz("shared-lib", "1.0.0"))
    hosted = admin.get("/npm/merged/shared-lib/-/shared-lib-1.0.0.tgz")
    assert hosted.content == admin.get("/npm/js/shared-lib/-/shared-lib-1.0.0.tgz").content
    upstream = admin.get("/npm/merged/shared-lib/-/shared-lib-2.0.0.tgz")
    assert upstream.content == tgz("shared-lib", "2.0.0")
    assert registry.hits("/files/shared-lib-1.0.0.tgz") == 0, "the first member wins 1.0.0"


def test_a_package_named_before_today_s_rules_is_proxied(
    admin: Api, registry: Registry, virtual: str
) -> None:
    """Capital letters in a name (JSONStream) are refused for new packages, not for old ones."""
    registry.package("JSONStream", {"1.3.5": None})
    document = admin.get(f"{virtual}/JSONStream").json
    tarball = document["versions"]["1.3.5"]["dist"]["tarball"]
    assert tarball == f"{HOST}/npm/all/JSONStream/-/JSONStream-1.3.5.tgz"
    assert admin.get(tarball.removeprefix(HOST)).content == tgz("JSONStream", "1.3.5")
    data = tgz("NewCaps", "1.0.0")
    refused = admin.put(
        "/npm/js/NewCaps",
        {
            "_id": "NewCaps",
            "name": "NewCaps",
            "versions": {"1.0.0": {"name": "NewCaps", "version": "1.0.0"}},
            "_attachments": {
                "NewCaps-1.0.0.tgz": {"data": base64.b64encode(data).decode(), "length": len(data)}
            },
        },
    )
    assert refused.status_code == 400
    assert "capital letters" in refused.json["error"]


@pytest.mark.parametrize(
    "version", ["1.0.0\r\nX-Evil: y", "1.0.0 ", "..", "v1.0.0", "1.0.0-" + "a" * 123]
)
def test_an_upstream_version_the_remote_cannot_keep_is_never_fetched(
    admin: Api, registry: Registry, remote: str, version: str
) -> None:
    data = b"never fetched"
    dist = {"tarball": f"{registry.url}files/odd.tgz", "integrity": sri(data)}
    document = {"name": "odd", "versions": {version: {"name": "odd", "dist": dist}}}
    registry.routes["/odd"] = (200, "application/json", json.dumps(document).encode())
    registry.routes["/files/odd.tgz"] = (200, "application/octet-stream", data)
    answer = admin.get(f"{remote}/odd/-/odd-{quote(version, safe='')}.tgz")
    assert answer.status_code == 404
    assert registry.hits("/files/odd.tgz") == 0
