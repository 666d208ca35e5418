"""The proxy rows: pip, uv and npm installing public packages through a pull-through proxy.

Each row installs the same set through every proxy, side by side, twice over:
*cold* (the proxy's cache empty: every page, packument and file comes from the
upstream on loopback) and *warm* (the proxy filled by the last cold run, the
client's cache still empty).  The proxies:

- Artifortress: a remote repository of the upstream and a virtual over an empty
  hosted repository and the remote (the set-up the README teaches); clients
  know the virtual's URL only.  A cold run gets a new remote and virtual.
- devpi: a mirror index (``type=mirror``, ``mirror_url`` the upstream); a cold
  run gets a new index.
- Verdaccio: a second Verdaccio whose only uplink is the upstream; a cold run
  restarts it on empty storage.
- upstream: the client pointed at the upstream itself, the reference the cold
  goal is measured against (within 1.3x).

The upstreams: for PyPI, nginx serving a static PEP 503 tree of the real wheel
set as PyPI serves it (``#sha256=`` fragments, ``data-requires-python``, PEP 658
metadata files); for npm, the bench's Verdaccio without uplinks holding the
packed express 4 tree.  Every proxy keeps metadata fresh for the same 10 minutes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import shutil
import statistics
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from packaging.utils import parse_wheel_filename

from bench import data
from bench.context import Bench
from bench.endtoend import NPM_ROOT_RANGE, express_install, python_install
from bench.model import Figure, Row
from bench.peers import Artifortress, Devpi, Nginx, NpmRegistry, Verdaccio, VerdaccioUplink

#: The column of the client installing straight from the upstream: the cold goal's reference.
UPSTREAM = "upstream"
#: Metadata freshness given to every proxy (Artifortress's metadata_ttl, Verdaccio's maxage).
METADATA_TTL = "10m"
RUNS, QUICK_RUNS = 5, 3


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where a client installs from: an index URL (credentials in it), or a registry and token."""

    url: str
    token: str = ""


#: One timed install from an endpoint; the second argument names its scratch folder.
Install = Callable[[Endpoint, str], float]


class Proxy(Protocol):
    """One column of a proxy row: where a client installs from."""

    label: str  # the report's column
    note: str  # how it proxies, shown in its cells

    def fresh(self) -> Endpoint:
        """A proxy with an empty cache: where a client installs from."""

    def close(self) -> None:
        """Stop whatever the row started for this proxy."""


@dataclasses.dataclass
class Direct:
    """The client pointed at the upstream itself (nothing to fill: cold and warm alike)."""

    endpoint: Endpoint
    note: str
    label: str = UPSTREAM

    def fresh(self) -> Endpoint:
        return self.endpoint

    def close(self) -> None:
        pass


class SubjectProxy:
    """Artifortress: a remote of the upstream and a virtual over (empty hosted, remote)."""

    note = "virtual over hosted + remote"

    def __init__(self, subject: Artifortress, row: str, fmt: str, upstream: str) -> None:
        self.label = subject.name
        self.subject, self.row, self.fmt, self.upstream = subject, row, fmt, upstream
        self.created = 0

    def fresh(self) -> Endpoint:
        subject, fmt, prefix = self.subject, self.fmt, self.row  # keys of one row's own
        hosted = f"{prefix}-private"
        if not self.created:
            subject.create_repo(hosted, fmt)
        self.created += 1
        remote, virtual = f"{prefix}-up-{self.created}", f"{prefix}-all-{self.created}"
        subject.create_repo(
            remote,
            fmt,
            kind="remote",
            upstream={"url": self.upstream},
            metadata_ttl=METADATA_TTL,
        )
        subject.create_repo(virtual, fmt, kind="virtual", members=[hosted, remote])
        if fmt == "npm":
            return Endpoint(f"{subject.base}/npm/{virtual}/", subject.token)
        assert subject.pypi is not None
        index = dataclasses.replace(subject.pypi, simple=f"{subject.base}/pypi/{virtual}/simple/")
        return Endpoint(index.install_url())

    def close(self) -> None:
        pass


class DevpiMirror:
    """devpi: a new mirror index of the upstream for each cold run."""

    label = "devpi"
    note = "mirror index"

    def __init__(self, devpi: Devpi, row: str, upstream: str) -> None:
        self.devpi, self.row, self.upstream = devpi, row, upstream
        self.created = 0

    def fresh(self) -> Endpoint:
        self.created += 1
        name = f"{self.row}-mirror-{self.created}"
        return Endpoint(self.devpi.create_mirror(name, self.upstream))

    def close(self) -> None:
        pass


class VerdaccioProxy:
    """Verdaccio with the upstream as its uplink, restarted on empty storage for each cold run."""

    label = "Verdaccio"
    note = "uplink"

    def __init__(self, bench: Bench, upstream: str) -> None:
        self.server = VerdaccioUplink(bench.work, upstream, METADATA_TTL)

    def fresh(self) -> Endpoint:
        self.server.stop()
        self.server.start()
        assert self.server.npm is not None
        return Endpoint(self.server.npm.url, self.server.npm.token)

    def close(self) -> None:
        self.server.stop()


# -- the upstreams -----------------------------------------------------------------------


def pypi_upstream(nginx: Nginx, wheels: list[Path]) -> str:
    """The wheels as a static PEP 503 tree under nginx, as PyPI announces them; its index URL."""
    root = nginx.root / "pypi-upstream"
    shutil.rmtree(root, ignore_errors=True)
    files = root / "files"
    files.mkdir(parents=True)
    base = f"{nginx.base}/pypi-upstream"
    anchors: dict[str, list[str]] = {}
    for wheel in wheels:
        (files / wheel.name).hardlink_to(wheel)
        metadata, requires_python = _wheel_metadata(wheel)
        (files / f"{wheel.name}.metadata").write_bytes(metadata)
        announced = f"sha256={hashlib.sha256(metadata).hexdigest()}"
        attributes = [
            f'href="{base}/files/{wheel.name}#sha256={_sha256(wheel)}"',
            f'data-dist-info-metadata="{announced}" data-core-metadata="{announced}"',
        ]
        if requires_python:
            attributes.append(f'data-requires-python="{html.escape(requires_python)}"')
        project = str(parse_wheel_filename(wheel.name)[0])
        anchors.setdefault(project, []).append(f"<a {' '.join(attributes)}>{wheel.name}</a><br/>")
    for project, links in anchors.items():
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(_page(f"Links for {project}", links))
    projects = [f'<a href="{project}/">{project}</a>' for project in sorted(anchors)]
    (root / "simple" / "index.html").write_text(_page("Simple index", projects))
    return f"{base}/simple/"


def _page(title: str, links: list[str]) -> str:
    body = "\n".join(links)
    return f"<!DOCTYPE html><html><body><h1>{title}</h1>\n{body}\n</body></html>\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wheel_metadata(wheel: Path) -> tuple[bytes, str]:
    """A wheel's METADATA (served beside it, PEP 658) and its Requires-Python."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name)
    header = metadata.split(b"\n\n", 1)[0].decode(errors="replace")
    requires = [
        line.split(":", 1)[1].strip()
        for line in header.splitlines()
        if line.lower().startswith("requires-python:")
    ]
    return metadata, requires[0] if requires else ""


def npm_upstream(bench: Bench) -> Verdaccio:
    """The bench's Verdaccio without uplinks: it holds the packed express tree."""
    for server in bench.npm_peers:
        if isinstance(server, Verdaccio) and server.npm is not None:
            return server
    raise RuntimeError("the npm proxy row needs the Verdaccio peer (holding express 4)")


# -- measuring ---------------------------------------------------------------------------


def _spread(seconds: list[float], note: str) -> Figure:
    """The best run as the figure (the bench's convention), median and worst in the note."""
    return Figure(
        min(seconds),
        note=f"{note}; best of {len(seconds)}, median {statistics.median(seconds):.2f}, "
        f"max {max(seconds):.2f}",
    )


def _slug(label: str) -> str:
    """A column's label as a folder name."""
    return re.sub(r"\W+", "-", label).strip("-").lower()


def measure(bench: Bench, cold: Row, warm: Row, proxies: list[Proxy], install: Install) -> None:
    """Cold runs (a fresh proxy each), then warm runs of the last one, targets interleaved.

    Interleaving keeps the shared machine's changing load from favouring one
    column.  A target that fails is reported in its cells and left out from
    then on; the others go on.
    """
    runs = QUICK_RUNS if bench.quick else RUNS
    times: dict[tuple[str, str], list[float]] = {}
    filled: dict[str, Endpoint] = {}
    failed: dict[str, tuple[str, str]] = {}  # label -> (phase, why)
    try:
        for phase in ("cold", "warm"):
            for _ in range(runs):
                for proxy in proxies:
                    if proxy.label in failed:
                        continue
                    print(f"  {cold.key.rsplit('-', 1)[0]} {phase} <- {proxy.label}", flush=True)
                    try:
                        if phase == "cold":
                            filled[proxy.label] = proxy.fresh()
                        seconds = install(filled[proxy.label], f"{_slug(proxy.label)}-{phase}")
                    except Exception as error:  # the others must still be measured
                        traceback.print_exc()
                        failed[proxy.label] = (phase, f"{phase} run failed: {_first_line(error)}")
                        continue
                    times.setdefault((phase, proxy.label), []).append(seconds)
    finally:
        for proxy in proxies:
            proxy.close()
    for phase, row in (("cold", cold), ("warm", warm)):
        row.ceiling = UPSTREAM
        for proxy in proxies:
            failed_in, why = failed.get(proxy.label, ("", ""))
            if failed_in in (phase, "cold"):  # a failed cold run leaves no warm proxy either
                row.figures[proxy.label] = Figure(None, note=why)
            else:
                row.figures[proxy.label] = _spread(times[(phase, proxy.label)], proxy.note)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


# -- the rows ----------------------------------------------------------------------------

_PY_COLD = (
    "The proxy fetches each project page from the upstream, then each wheel and its PEP 658 "
    "metadata when the client first asks, checks its sha256 and stores it. The upstream is "
    "nginx on loopback: no network time, so the proxy's own work per file shows."
)
_PY_WARM = (
    "Pages (within the metadata TTL) and files from the proxy's store; the client's own "
    "work (resolving, unpacking) is most of the time, as on the upstream."
)


def _python_rows(bench: Bench, tool: str) -> list[Row]:
    assert bench.nginx is not None
    wheels = data.python_set(bench.cache, bench.quick)
    bench.real_names = data.PYTHON_SET_QUICK if bench.quick else data.PYTHON_SET  # installed
    upstream = pypi_upstream(bench.nginx, wheels)
    what = f"`{tool} install` of the Python set ({len(wheels)} wheels) through a proxy"
    key = f"{tool}-proxy"
    cold = Row(f"{key}-cold", f"{what}, cold", "s", False, bound=_PY_COLD)
    warm = Row(f"{key}-warm", f"{what}, warm", "s", False, bound=_PY_WARM)
    proxies: list[Proxy] = [
        SubjectProxy(subject, key, "pypi", upstream) for subject in bench.subjects
    ]
    proxies += [
        DevpiMirror(peer, key, upstream) for peer in bench.pypi_peers if isinstance(peer, Devpi)
    ]
    proxies.append(Direct(Endpoint(upstream), "nginx, static PEP 503 tree"))

    def install(endpoint: Endpoint, name: str) -> float:
        return python_install(bench, endpoint.url, tool)

    measure(bench, cold, warm, proxies, install)
    return [cold, warm]


def pip_proxy(bench: Bench) -> list[Row]:
    return _python_rows(bench, "pip")


def uv_proxy(bench: Bench) -> list[Row]:
    return _python_rows(bench, "uv")


def npm_proxy(bench: Bench) -> list[Row]:
    upstream = npm_upstream(bench)
    assert upstream.npm is not None
    what = (
        f"`npm install express@{NPM_ROOT_RANGE}` ({len(bench.npm_real)} packages) through a proxy"
    )
    cold = Row(
        "npm-proxy-cold",
        f"{what}, cold",
        "s",
        False,
        bound="The proxy fetches each full packument from the upstream (Verdaccio without "
        "uplinks) and answers it, abbreviated where npm asks, then each tarball, checked "
        "against its integrity and stored; npm asks up to 16 at a time, so the proxy's "
        "concurrent stores compete.",
    )
    warm = Row(
        "npm-proxy-warm",
        f"{what}, warm",
        "s",
        False,
        bound="Packuments (within the metadata TTL) and tarballs from the proxy's store, "
        "about 140 requests, up to 16 at a time.",
    )
    proxies: list[Proxy] = [
        SubjectProxy(subject, "npm-proxy", "npm", upstream.npm.url) for subject in bench.subjects
    ]
    direct = Endpoint(upstream.npm.url, upstream.npm.token)
    proxies += [VerdaccioProxy(bench, upstream.npm.url), Direct(direct, "Verdaccio, no uplinks")]

    def install(endpoint: Endpoint, name: str) -> float:
        return express_install(bench, NpmRegistry(endpoint.url, endpoint.token), name)

    measure(bench, cold, warm, proxies, install)
    return [cold, warm]
