"""The read rows: index pages and packuments under wrk, with nginx serving the same bytes.

Each row first GETs the URL once on every target (it must answer 200 with the
expected kind of document), saves the bytes Artifortress served into nginx's
folder, then runs wrk for a bounded time against each target and nginx.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from bench.context import Bench, fetch, is_subject
from bench.model import FLOOR, SUBJECT, Figure, Row
from bench.peers import Server
from bench.profile import profile_under_load
from bench.wrk import wrk

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
NPM_FULL = "application/json"
NPM_ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
MANY = "bench-many"


@dataclasses.dataclass(frozen=True)
class Target:
    """One server's URL (and headers) for the row's document."""

    label: str
    url: str
    headers: Mapping[str, str]


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


def measure(
    bench: Bench,
    row: Row,
    targets: list[Target],
    static_name: str,
    *,
    json_wanted: bool,
    connections: int = 16,
) -> Row:
    """wrk on every target that serves the document, then on nginx serving Artifortress's bytes."""
    ceiling_url = None
    subject_body: bytes | None = None
    for target in targets:
        status, content_type, body = fetch(target.url, target.headers)
        if status != 200:
            row.figures[target.label] = Figure(None, note=f"answered {status}")
            continue
        if json_wanted and "json" not in content_type:
            row.figures[target.label] = Figure(None, note=f"no JSON form ({content_type})")
            continue
        note = _kb(len(body))
        if target.label == SUBJECT:
            subject_body = body
        if target.label == SUBJECT and bench.nginx is not None:
            ceiling_url = bench.nginx.serve(static_name, body)
        print(f"  wrk {row.key} {target.label} ({note})", flush=True)
        load = wrk(target.url, target.headers, connections=connections, seconds=bench.seconds)
        if load.errors:
            note += f"; {load.errors} of {load.requests} failed"
        row.figures[target.label] = Figure(load.rps, load.p50, load.p99, note)
        if target.label == SUBJECT and bench.profile:
            bench.profiles[row.key] = profile_under_load(
                bench, target.url, target.headers, connections
            )
    if ceiling_url is not None:
        load = wrk(ceiling_url, connections=connections, seconds=bench.seconds)
        row.figures["nginx"] = Figure(load.rps, load.p50, load.p99, "same bytes, static file")
        row.ceiling = "nginx"
    if subject_body is not None and bench.floor is not None and row.key in FLOOR_ROWS:
        url = bench.floor.serve(static_name, subject_body)
        load = wrk(url, connections=connections, seconds=bench.seconds)
        row.figures[FLOOR] = Figure(load.rps, load.p50, load.p99, "same bytes from memory")
    return row


#: Rows where the framework floor is measured: the pages (a download is a file, not bytes).
FLOOR_ROWS = ("simple-html", "simple-json", "root-index", "packument-full", "packument-abbrev")


def _pypi_targets(servers: list[Server], project: str, accept: str | None) -> list[Target]:
    targets = []
    for server in servers:
        assert server.pypi is not None
        headers = {"Accept": accept} if accept else {}
        if server.pypi.read_auth:
            headers["Authorization"] = server.pypi.read_auth
        url = server.pypi.simple + (f"{project}/" if project else "")
        targets.append(Target(server.name, url, headers))
    return targets


def _npm_targets(servers: list[Server], path: str, accept: str) -> list[Target]:
    targets = []
    for server in servers:
        assert server.npm is not None
        # npm sends the configured token with every request, to every registry.
        headers = {"Accept": accept, "Authorization": server.npm.auth}
        targets.append(Target(server.name, server.npm.url + path, headers))
    return targets


_PAGE_BOUND = (
    "Artifortress serves a rendering stored at publish time (authorization, one lookup, "
    "bytes); pypiserver lists and renders per request; devpi renders from its keyfs. "
    "wrk shares the 2 cores with the server."
)


def simple_html(bench: Bench) -> Row:
    row = Row(
        "simple-html",
        f"Simple page, HTML ({bench.sizes.many_files:,} files)",
        "req/s",
        True,
        bound=_PAGE_BOUND,
    )
    targets = _pypi_targets(bench.pypi_readers(), MANY, "text/html")
    return measure(bench, row, targets, "simple-many.html", json_wanted=False)


def simple_json(bench: Bench) -> Row:
    row = Row(
        "simple-json",
        f"Simple page, JSON ({bench.sizes.many_files:,} files)",
        "req/s",
        True,
        bound=_PAGE_BOUND,
    )
    targets = _pypi_targets(bench.pypi_readers(), MANY, SIMPLE_JSON)
    return measure(bench, row, targets, "simple-many.json", json_wanted=True)


def root_index(bench: Bench) -> Row:
    count = bench.sizes.projects
    row = Row(
        "root-index",
        f"Root simple index (about {count:,} projects), HTML",
        "req/s",
        True,
        bound="One link per project; the page itself is large, so bytes per second "
        "and the server's way of producing them dominate.",
    )
    targets = _pypi_targets(bench.pypi_readers(), "", "text/html")
    return measure(bench, row, targets, "root-index.html", json_wanted=False)


_PACKUMENT_BOUND = (
    "Artifortress keeps both packument forms rendered at publish time; Verdaccio reads its "
    "package.json from storage and rewrites the tarball URLs on every request."
)


def packument_full(bench: Bench) -> Row:
    row = Row(
        "packument-full",
        f"Packument, full ({bench.sizes.npm_versions} versions)",
        "req/s",
        True,
        bound=_PACKUMENT_BOUND,
    )
    targets = _npm_targets(bench.npm_readers(), MANY, NPM_FULL)
    return measure(bench, row, targets, "packument-full.json", json_wanted=True)


def packument_abbreviated(bench: Bench) -> Row:
    row = Row(
        "packument-abbrev",
        f"Packument, abbreviated ({bench.sizes.npm_versions} versions)",
        "req/s",
        True,
        bound=_PACKUMENT_BOUND,
    )
    targets = _npm_targets(bench.npm_readers(), MANY, NPM_ABBREVIATED)
    return measure(bench, row, targets, "packument-abbrev.json", json_wanted=True)


def packument_c20(bench: Bench) -> Row:
    row = Row(
        "packument-c20",
        "Packument, abbreviated, 20 connections (see p99)",
        "req/s",
        True,
        bound="Latency under 20 concurrent clients: queueing in the server's workers.",
    )
    targets = _npm_targets(bench.npm_readers(), MANY, NPM_ABBREVIATED)
    return measure(
        bench, row, targets, "packument-abbrev-20.json", json_wanted=True, connections=20
    )


def npm_tarball(bench: Bench) -> Row:
    """A small tarball of the big package, GET under wrk (the URL each registry advertises)."""
    row = Row(
        "npm-tarball",
        "npm tarball GET (small tarball)",
        "req/s",
        True,
        bound="Per-request authorization and lookup, then sendfile of a small blob.",
    )
    targets = []
    for target in _npm_targets(bench.npm_readers(), MANY, NPM_FULL):
        status, _, body = fetch(target.url, target.headers)
        if status != 200:
            row.figures[target.label] = Figure(None, note=f"packument answered {status}")
            continue
        document = json.loads(body)
        latest = document["dist-tags"]["latest"]
        url = document["versions"][latest]["dist"]["tarball"]
        targets.append(
            Target(target.label, url, {"Authorization": target.headers["Authorization"]})
        )
    return measure(bench, row, targets, "tarball.tgz", json_wanted=False)


def subject_first(servers: list[Server]) -> list[Server]:
    return sorted(servers, key=lambda server: not is_subject(server))
