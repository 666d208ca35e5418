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
from bench.wrk import Load, wrk

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
    """wrk on every target that serves the document, on nginx serving Artifortress's bytes and on
    the Falcon floor: ``bench.runs`` rounds, every target once per round.

    Interleaving the rounds spreads the machine's drifting load over every
    target alike; each cell shows the median run with the lowest and highest.
    """
    loads: list[Target] = []
    notes: dict[str, str] = {}
    for target in targets:
        status, content_type, body = fetch(target.url, target.headers)
        if status != 200:
            row.figures[target.label] = Figure(None, note=f"answered {status}")
            continue
        if json_wanted and "json" not in content_type:
            row.figures[target.label] = Figure(None, note=f"no JSON form ({content_type})")
            continue
        loads.append(target)
        notes[target.label] = _kb(len(body))
        if target.label != SUBJECT:
            continue
        if bench.nginx is not None:
            loads.append(Target("nginx", bench.nginx.serve(static_name, body), {}))
            notes["nginx"] = "same bytes, static file"
            row.ceiling = "nginx"
        if bench.floor is not None and row.key in FLOOR_ROWS:
            loads.append(Target(FLOOR, bench.floor.serve(static_name, body), {}))
            notes[FLOOR] = "same bytes from memory"
    runs: dict[str, list[Load]] = {target.label: [] for target in loads}
    for round_ in range(1, bench.runs + 1):
        print(f"  wrk {row.key} round {round_}/{bench.runs}", flush=True)
        for target in loads:
            load = wrk(target.url, target.headers, connections=connections, seconds=bench.seconds)
            runs[target.label].append(load)
    for target in loads:
        row.figures[target.label] = spread(runs[target.label], notes[target.label])
    if bench.profile and SUBJECT in runs:
        subject = next(target for target in loads if target.label == SUBJECT)
        bench.profiles[row.key] = profile_under_load(
            bench, subject.url, subject.headers, connections
        )
    return row


def spread(loads: list[Load], note: str) -> Figure:
    """The median run of *loads* (its latencies too), noting the lowest and highest throughput."""
    ranked = sorted(loads, key=lambda load: load.rps)
    median = ranked[len(ranked) // 2]
    if len(ranked) > 1:
        low, high = ranked[0].rps, ranked[-1].rps
        note += f"; median of {len(ranked)} runs, {low:,.0f} to {high:,.0f}"
    failed, requests = sum(load.errors for load in loads), sum(load.requests for load in loads)
    if failed:
        note += f"; {failed} of {requests} failed"
    return Figure(median.rps, median.p50, median.p99, note)


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
