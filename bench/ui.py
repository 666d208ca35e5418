"""The web UI rows: the package pages of the big packages, the 5,000-project repository page.

Artifortress renders these pages per request (server-side templates over
paginated queries), signed in with a UI session cookie as a person's browser
would be (the bench's repositories are private).  wrk runs with two
connections, one per server worker, so p50 is the server time of one page
plus the loopback: the issue's target is 50 ms for the package page.  No peer renders an
equivalent page: pypiserver has no package page and devpi-web is not
installed; Verdaccio's web UI is a single-page app whose package page is a
static shell plus JSON, so its row measures the JSON that page loads.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse

from bench.context import Bench, fetch
from bench.model import Figure, Row
from bench.peers import Artifortress, Verdaccio
from bench.rows import MANY, Target, measure

#: One page at a time per server worker (2): the latency is the server's time, not queueing.
CONNECTIONS = 2
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
#: Why the PyPI peers have no figure on these rows.
NO_PAGE = {"pypiserver": "no web UI", "devpi": "no web UI here: devpi-web is not installed"}


def session_cookie(server: Artifortress) -> str:
    """Sign in through the UI's form with the bench token; the ``Cookie`` header to send."""
    parts = urllib.parse.urlsplit(server.base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    try:
        connection.request("GET", "/ui/sign-in", headers={"Accept": "text/html"})
        answer = connection.getresponse()
        page = answer.read().decode()
        presession = _cookies(answer.headers.get_all("Set-Cookie") or [])
        found = _CSRF.search(page)
        if answer.status != 200 or found is None:
            raise RuntimeError(f"the sign-in page answered {answer.status} without a form")
        form = urllib.parse.urlencode({"csrf": found.group(1), "token": server.token})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": presession,
            "Accept": "text/html",
        }
        connection.request("POST", "/ui/sign-in", body=form, headers=headers)
        signed_in = connection.getresponse()
        signed_in.read()
        session = _cookies(signed_in.headers.get_all("Set-Cookie") or [], "af_session")
        if signed_in.status != 303 or not session:
            raise RuntimeError(f"signing in to the UI answered {signed_in.status}")
        return session
    finally:
        connection.close()


def _cookies(headers: list[str], only: str | None = None) -> str:
    """``name=value`` pairs of *headers* that set a value (not the ones dropping a cookie)."""
    pairs = [header.split(";", 1)[0].strip() for header in headers]
    kept = [pair for pair in pairs if pair.split("=", 1)[1:] not in ([""], [])]
    return "; ".join(pair for pair in kept if only is None or pair.startswith(f"{only}="))


def _subject_targets(bench: Bench, path: str) -> list[Target]:
    headers = {"Accept": "text/html"}
    return [
        Target(server.name, server.base + path, {**headers, "Cookie": session_cookie(server)})
        for server in bench.subjects
    ]


def _verdaccio_page(bench: Bench) -> list[Target]:
    """The JSON Verdaccio's package page loads (its HTML is the same static shell for all)."""
    targets = []
    for server in bench.npm_peers:
        if isinstance(server, Verdaccio):
            url = f"{server.base}/-/verdaccio/data/sidebar/{MANY}"
            targets.append(Target(server.name, url, {"Accept": "application/json"}))
    return targets


def ui_package_npm(bench: Bench) -> Row:
    row = Row(
        "ui-package-npm",
        f"UI package page, npm ({bench.sizes.npm_versions} versions), 2 connections",
        "req/s",
        True,
        bound="A per-request rendering: session, RBAC, the package, one page of versions "
        "with their files, the latest README rendered (cached); two connections (one per "
        "server worker), so p50 is the server time. Verdaccio: the sidebar JSON its "
        "single-page app fetches for the package page (its HTML shell is static), the "
        "nearest thing it serves; not the same work, so its ratio is indicative only.",
    )
    targets = _subject_targets(bench, f"/ui/repos/js/packages/{MANY}")
    row = measure(
        bench,
        row,
        [*targets, *_verdaccio_page(bench)],
        "ui-package-npm.html",
        json_wanted=False,
        connections=CONNECTIONS,
    )
    for label, figure in row.figures.items():
        if label in {target.label for target in _verdaccio_page(bench)} and figure.value:
            figure.note = f"the sidebar JSON of its web UI's package page, {figure.note}"
    _note_peers(row)
    return row


def ui_package_pypi(bench: Bench) -> Row:
    row = Row(
        "ui-package-pypi",
        f"UI package page, PyPI ({bench.sizes.many_files:,} files), 2 connections",
        "req/s",
        True,
        bound="As the npm package page, over a project of many files in few versions.",
    )
    targets = _subject_targets(bench, f"/ui/repos/py/packages/{MANY}")
    row = measure(
        bench, row, targets, "ui-package-pypi.html", json_wanted=False, connections=CONNECTIONS
    )
    _note_peers(row)
    return row


def ui_repo_page(bench: Bench) -> Row:
    row = Row(
        "ui-repo",
        f"UI repository page ({bench.sizes.projects:,} projects), 2 connections",
        "req/s",
        True,
        bound="The first page of the repository's packages: a keyset-paginated query that "
        "reads one page, never the whole repository; two connections.",
    )
    targets = _subject_targets(bench, "/ui/repos/py")
    row = measure(bench, row, targets, "ui-repo.html", json_wanted=False, connections=CONNECTIONS)
    _check_paginated(row, targets)
    _note_peers(row)
    return row


def _check_paginated(row: Row, targets: list[Target]) -> None:
    """Say in the note how many package links the page holds (one page, not all of them)."""
    for target in targets:
        status, _, body = fetch(target.url, target.headers)
        figure = row.figures.get(target.label)
        if status == 200 and figure is not None:
            links = len(set(re.findall(rb'href="/ui/repos/py/packages/[^"]+"', body)))
            figure.note += f"; {links} package links on the page"


def _note_peers(row: Row) -> None:
    for peer, why in NO_PAGE.items():
        row.figures.setdefault(peer, Figure(None, note=why))
