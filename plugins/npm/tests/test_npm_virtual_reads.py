"""Warm reads through a virtual npm repository: two pooled reads, never stale.

The packument merged from the members is kept per process under what it was
built from; each request still reads the guard's claim and the remote's
document row (its freshness), on pooled connections. A tarball is the claim
and one lookup of the published file per member asked, with no version
loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import falcon.testing
import pytest
from artifortress_npm import proxy
from npm_testkit import serve
from sqlalchemy import event

from artifortress.testing.dbwork import Work, WorkMeter
from artifortress.testing.helpers import Api, ApiFactory
from plugins.npm.tests.test_npm_remote import ABBREVIATED, MakeRepo, Registry, publish, tgz


@pytest.fixture
def registry() -> Iterator[Registry]:
    found = Registry()
    with serve(found.handle) as (url, log):
        found.url, found.log = url, log
        yield found


@pytest.fixture
def virtual(make_repo: MakeRepo, registry: Registry) -> str:
    """all = [js (hosted), npm-up (remote of the registry)]."""
    make_repo("npm-up", format="npm", kind="remote", upstream={"url": registry.url})
    make_repo("js", format="npm")
    make_repo("all", format="npm", kind="virtual", members=["js", "npm-up"])
    return "/npm/all"


def cost(services, request: Callable[[], falcon.testing.Result]) -> tuple[Work, int]:
    """The least statements of three warm requests, and the least transactions they began."""
    request()  # warm: the read decisions are kept, the packument merged
    meter = WorkMeter(services.engine)
    begins: list[object] = []
    event.listen(services.engine, "begin", lambda *args: begins.append(args))
    works, sessions = [], []
    for _ in range(3):
        begins.clear()
        with meter.measure() as work:
            answer = request()
        assert answer.status_code == 200, answer.text
        works.append(work)
        sessions.append(len(begins))
    return Work.least(works), min(sessions)


def _reader(api_factory: ApiFactory) -> Api:
    return api_factory.as_user("reader", roles={key: ["read"] for key in ("all", "js", "npm-up")})


def test_a_warm_packument_and_tarball_cost_two_reads_outside_any_session(
    api_factory: ApiFactory, services, registry: Registry, virtual: str
) -> None:
    registry.package("express", {"4.0.0": None, "4.21.2": None})
    reader = _reader(api_factory)
    for accept in ("application/json", ABBREVIATED):
        work, sessions = cost(
            services, lambda a=accept: reader.get(f"{virtual}/express", headers={"Accept": a})
        )
        # Whether a hosted member claims the name, and the remote's document row.
        assert (work.statements, sessions) == (2, 0), (accept, work)
    tarball = f"{virtual}/express/-/express-4.21.2.tgz"
    work, sessions = cost(services, lambda: reader.get(tarball))
    assert (work.statements, sessions) == (2, 0), work  # the claim, the remote's file row
    assert reader.get(tarball).content == tgz("express", "4.21.2")
    assert registry.hits("/express") == 1
    assert registry.hits("/files/express-4.21.2.tgz") == 1


def test_a_publish_to_the_hosted_member_shows_through_the_virtual_at_once(
    admin: Api, api_factory: ApiFactory, registry: Registry, virtual: str
) -> None:
    registry.package("tool", {"9.0.0": None})
    reader = _reader(api_factory)
    assert list(reader.get(f"{virtual}/tool").json["versions"]) == ["9.0.0"]  # kept
    publish(admin, "/npm/js", "tool", "1.0.0")  # the name is private now
    assert list(reader.get(f"{virtual}/tool").json["versions"]) == ["1.0.0"]
    assert reader.get(f"{virtual}/tool/-/tool-9.0.0.tgz").status_code == 404
    publish(admin, "/npm/js", "tool", "1.1.0")
    document = reader.get(f"{virtual}/tool", headers={"Accept": ABBREVIATED}).json
    assert sorted(document["versions"]) == ["1.0.0", "1.1.0"]
    assert reader.get(f"{virtual}/tool/-/tool-1.1.0.tgz").content == tgz("tool", "1.1.0")
    assert registry.hits("/files/tool-9.0.0.tgz") == 0


def test_a_kept_packument_never_shows_a_member_the_caller_may_not_read(
    admin: Api, api_factory: ApiFactory, registry: Registry, virtual: str
) -> None:
    registry.package("tool", {"9.0.0": None})
    publish(admin, "/npm/js", "tool", "1.0.0")
    admin.patch("/v1/repos/all", {"merge_patterns": ["tool"]})
    assert sorted(admin.get(f"{virtual}/tool").json["versions"]) == ["1.0.0", "9.0.0"]
    outsider = api_factory.as_user("outsider", roles={"all": ["read"], "npm-up": ["read"]})
    assert list(outsider.get(f"{virtual}/tool").json["versions"]) == ["9.0.0"]
    assert outsider.get(f"{virtual}/tool/-/tool-1.0.0.tgz").status_code == 404


def test_a_warm_install_s_whole_dependency_tree_is_served_without_merging_again(
    api_factory: ApiFactory, registry: Registry, virtual: str, monkeypatch
) -> None:
    """npm asks for each package of a tree once per install (express 4: 71 packages).

    A process cache smaller than the tree would miss every one of them, on every install.
    """
    names = [f"dep-{number}" for number in range(100)]
    for name in names:
        registry.package(name, {"1.0.0": None})
    reader = _reader(api_factory)

    def install() -> None:
        for name in names:
            answer = reader.get(f"{virtual}/{name}", headers={"Accept": ABBREVIATED})
            assert answer.status_code == 200, answer.text

    install()
    merges: list[object] = []
    real = proxy.merge_packuments
    monkeypatch.setattr(proxy, "merge_packuments", lambda *a: merges.append(a) or real(*a))
    install()
    assert merges == []
