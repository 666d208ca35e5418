"""bench/REPORT.md: the side-by-side table, the verdicts, the machine, what bounds each row."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bench.model import FLOOR, SUBJECT, SUBJECT_ACCEL, SUBJECT_PG, SUBJECTS, Figure, Row

PEERS = ("pypiserver", "devpi", "Verdaccio", "docker-registry")
PAGE_ROWS = ("simple-html", "simple-json", "root-index", "packument-full", "packument-abbrev")
NGINX_GOAL = 3.0  # cached pages within 3x of nginx serving the same bytes
SHA_GOAL = 0.5  # uploads at least half of single-core sha256
PROXY_COLD_GOAL = 1.3  # a cold install through the proxy within 1.3x of one from the upstream
#: Container images (issue 17): push within 1.5x of docker-registry's time, pull within 1.2x.
OCI_GOALS = {"oci-push": 1.5, "oci-pull": 1.2}


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _latency(figure: Figure) -> str:
    if figure.p50 is None or figure.p99 is None:
        return ""
    return f"<br>p50 {_ms(figure.p50)} / p99 {_ms(figure.p99)}"


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:,.0f} ms"


def _cell(row: Row, target: str) -> str:
    figure = row.figures.get(target)
    if figure is None:
        return ""
    if figure.value is None:
        return f"n/a ({figure.note})" if figure.note else "n/a"
    text = f"**{_number(figure.value, row.unit)}**{_latency(figure)}"
    if target == SUBJECT_ACCEL and row.ceiling == "nginx":
        ratio = row.ratio("nginx", SUBJECT_ACCEL)
        if ratio is not None:
            text += f"<br>vs nginx = {ratio:.2f}"
    if target not in SUBJECTS:
        ratio = row.ratio(target)
        if ratio is not None:
            mark = "" if target in (row.ceiling, FLOOR) else (" ✓" if row.wins(target) else " ✗")
            text += f"<br>AF/{_abbrev(target)} = {ratio:.2f}{mark}"
    if figure.note:
        text += f"<br><small>{figure.note}</small>"
    return text


def _abbrev(target: str) -> str:
    return {"pypiserver": "pypiserver", "Verdaccio": "Verdaccio"}.get(target, target)


def table(rows: list[Row]) -> list[str]:
    """The main table: one line per row, one column per target, ratios in the peers' cells."""
    subjects = [SUBJECT] + [
        name for name in (SUBJECT_PG, SUBJECT_ACCEL) if any(name in r.figures for r in rows)
    ]
    peers = [peer for peer in PEERS if any(peer in row.figures for row in rows)]
    header = ["row", "unit", *subjects, *peers, "ceiling"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ceiling = ""
        if row.ceiling and row.ceiling in row.figures:
            ceiling = f"{row.ceiling}: {_cell(row, row.ceiling)}"
        if FLOOR in row.figures:
            ceiling += f"<br>{FLOOR}: {_cell(row, FLOOR)}"
        better = "higher" if row.higher_is_better else "lower"
        cells = [row.title, f"{row.unit} ({better} is better)"]
        cells += [_cell(row, name) for name in [*subjects, *peers]] + [ceiling]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def verdicts(rows: list[Row]) -> list[str]:
    """Every row where Artifortress is behind a peer or misses a ceiling goal."""
    found = []
    for row in rows:
        for peer in row.peers():
            ratio = row.ratio(peer)
            if row.wins(peer) is False and ratio is not None:
                found.append(f"- **{row.title}**: behind {peer} (AF/{peer} = {ratio:.2f}).")
        found += _nginx_verdict(row)
        found += _proxy_verdict(row)
        found += _oci_verdict(row)
        sha = row.ratio("sha256") if row.ceiling == "sha256" else None
        if sha is not None and sha < SHA_GOAL:
            found.append(f"- **{row.title}**: {100 * sha:.0f}% of single-core sha256 (goal 50%).")
    return found or ["- None: Artifortress is ahead of every peer and meets every ceiling goal."]


def _nginx_verdict(row: Row) -> list[str]:
    """A page row misses the goal when neither way of running Artifortress is within 3x."""
    if row.key not in PAGE_ROWS:
        return []
    ratios = {name: ratio for name in SUBJECTS if (ratio := row.ratio("nginx", name)) is not None}
    if not ratios or max(ratios.values()) >= 1 / NGINX_GOAL:
        return []
    measured = "; ".join(f"{name} {1 / ratio:.1f}x" for name, ratio in ratios.items())
    floor = row.ratio("nginx", FLOOR)
    context = (
        f" A bare Falcon app under the same gunicorn, sending these bytes from memory, is "
        f"{1 / floor:.1f}x slower than nginx."
        if floor
        else ""
    )
    return [
        f"- **{row.title}**: slower than nginx serving the same bytes by {measured} "
        f"(goal: within {NGINX_GOAL:.0f}x).{context}"
    ]


def _proxy_verdict(row: Row) -> list[str]:
    """A cold proxy row misses the goal when Artifortress is over 1.3x the upstream's time."""
    if not row.key.endswith("-proxy-cold"):
        return []
    ratio = row.ratio("upstream")
    if ratio is None or ratio <= PROXY_COLD_GOAL:
        return []
    return [
        f"- **{row.title}**: {ratio:.2f}x the time of installing straight from the upstream "
        f"(goal: within {PROXY_COLD_GOAL}x)."
    ]


def _oci_verdict(row: Row) -> list[str]:
    """An OCI row misses the goal when Artifortress takes over its multiple of docker-registry."""
    goal = OCI_GOALS.get(row.key)
    ratio = row.ratio("docker-registry")
    if goal is None or ratio is None or ratio <= goal:
        return []
    return [f"- **{row.title}**: {ratio:.2f}x docker-registry's time (goal: within {goal}x)."]


def oci_section(rows: list[Row]) -> list[str]:
    """The container image rows in a table of their own (their only peer is docker-registry)."""
    if not rows:
        return []
    return [
        "## Container images (OCI, bench/oci.py)",
        "",
        "skopeo copies of one image, each run timed whole (the token flow included); "
        "docker-registry is the CNCF distribution registry. Cells: the median run in bold, "
        "the lowest, the highest and the serving processes' memory in the note.",
        "",
        *table(rows),
        "",
    ]


def machine(work: Path) -> list[str]:
    """nproc, CPU, memory, kernel and the versions of everything measured."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with open("/proc/meminfo") as info:
        kb = int(info.readline().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- CPUs: {os.cpu_count()} (`nproc`), model: {cpu}; memory {memory}; "
        f"kernel {platform.release()}",
        f"- Python {platform.python_version()}; {_versions(work)}",
        f"- Load average (1, 5, 15 min) when the report was written: {load}; other work on "
        "the machine at the same time shows up as noise in every figure.",
        "- Everything (servers, wrk, clients) runs on this one machine over loopback, so the "
        "load generator competes with the server for the same 2 cores.",
    ]


def _versions(work: Path) -> str:
    pip = work / "peers-venv" / "bin" / "pip"
    verdaccio = work / "verdaccio-install" / "node_modules" / ".bin" / "verdaccio"
    probes = [
        *(
            (package, [str(pip), "show", package], r"Version: (\S+)")
            for package in ("pypiserver", "devpi-server", "waitress")
        ),
        ("Verdaccio", [str(verdaccio), "--version"], r"v?(\S+)"),
        ("nginx", [shutil.which("nginx") or "nginx", "-v"], r"nginx/(\S+)"),
        ("wrk", ["wrk", "-v"], r"wrk (\S+)"),
        ("node", ["node", "--version"], r"v(\S+)"),
        ("npm", ["npm", "--version"], r"(\S+)"),
        ("docker-registry", ["docker-registry", "--version"], r"distribution (\S+)"),
        ("skopeo", ["skopeo", "--version"], r"version (\S+)"),
    ]
    found = [f"{name} {_output(args, pattern)}" for name, args, pattern in probes]
    return ", ".join(found)


def _output(args: list[str], pattern: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    found = re.search(pattern, done.stdout + done.stderr)
    return found.group(1) if found else "?"


def render(
    rows: list[Row],
    *,
    work: Path,
    settings: str,
    started: str,
    minutes: float,
    profiles: Mapping[str, str],
    blobs: str,
    findings: list[str],
) -> str:
    """The whole report."""
    oci = [row for row in rows if row.key.startswith("oci-")]
    main = [row for row in rows if row not in oci]
    lines = [
        "# Artifortress benchmark: side by side with pypiserver, devpi, Verdaccio and nginx",
        "",
        f"Generated by `make bench` ({settings}) on {started}, in {minutes:.1f} minutes.",
        "Every server ran at the same time on 127.0.0.1 with the same data, uplinks, mirrors "
        "and fallbacks off except on the proxy rows (see Set-up). Cells: the figure in bold, "
        "wrk's p50/p99 latency for load rows, and AF/peer = Artifortress's figure divided by "
        "the peer's (✓ Artifortress better, ✗ worse; for seconds and MiB lower is better, "
        "so a ratio below 1 wins). The ceiling column is not a competitor: nginx serving "
        "the bytes Artifortress served, from disk, single-core `hashlib.sha256`, or on the "
        "proxy rows the client installing straight from the upstream.",
        "",
        *table(main),
        "",
        *oci_section(oci),
        "## Where Artifortress is behind",
        "",
        *findings,
        *verdicts(rows),
        "",
        "## Machine",
        "",
        *machine(work),
        "",
        "## Set-up",
        "",
        *SETUP,
        "",
        "## What bounds each row",
        "",
        *[f"- **{row.title}**: {row.bound}" for row in rows if row.bound],
        "",
    ]
    if profiles:
        lines += ["## Profiles of Artifortress under load (py-spy)", ""]
        for key, summary in profiles.items():
            lines += [f"### {key}", "", summary, ""]
    if blobs:
        lines += ["## Blob data plane (bench/blobs.py)", "", blobs, ""]
    return "\n".join(lines)


SETUP = [
    "- Artifortress: `artifortress serve` exactly as `make serve` runs it (gunicorn, 2 workers "
    "x 8 threads, SQLite in WAL mode, local blob store), private repositories; every request "
    "carries a personal access token (Basic for pip/uv/twine, Bearer for npm and curl).",
    "- pypiserver: `pypi-server run --backend cached-dir --server auto` (waitress), "
    "`--disable-fallback`, no authentication (`-a . -P .`); bulk data copied into its folder.",
    "- devpi-server: `devpi-init --no-root-pypi`, one private index `bench/dev` with "
    "`bases=` empty (no mirror); uploads authenticate with the login token (a password "
    "costs an argon2 hash per request); reads are anonymous. `--enable-core-metadata` "
    "(off by default in devpi 6, marked experimental): with it devpi serves PEP 658 "
    "metadata as PyPI, the proxy rows' upstream and Artifortress do, so the clients make "
    "the same requests of every server. Without it pip skips the metadata files and "
    "fetches each wheel once, which on loopback saves it about 0.2 s on the Python set.",
    "- Verdaccio 6: no uplinks, htpasswd auth, `max_body_size: 1gb`, log level warn; "
    "reads send the user's token as npm does.",
    "- docker-registry (the CNCF distribution registry, Debian's package; OCI rows): "
    "`docker-registry serve`, filesystem store in bench/work, in-memory blob descriptor "
    "cache, access log off, no authentication (its htpasswd check is a bcrypt per request). "
    "Artifortress's oci repository is private: skopeo goes through the token flow.",
    "- nginx: `worker_processes auto`, sendfile, access log off, serving the bytes "
    "Artifortress answered, saved to files.",
    "- Data: real wheels of requests, flask, django, sqlalchemy, pydantic, boto3 and numpy "
    "with dependencies (`pip download`, CPython 3.11, manylinux), express 4 with its "
    "dependency tree (`npm pack` of every lockfile entry), a generated project with 1,000 "
    "wheels (250 versions x 4 platform tags), 5,000 generated one-wheel projects, a "
    "generated npm package with 500 versions (about 1 KB of package.json each), 100 "
    "generated versions for the publish row, and 256 MiB of random bytes.",
    "- Load: `wrk -t2 -c16 --latency` (`-c20` for the 20-connection row) in rounds: each "
    "round runs every target once for the same short time, so the machine's drifting load "
    "falls on all of them alike; a cell is the median run (its p50/p99), with the lowest "
    "and highest throughput of the rounds in its note. Client rows time the real client "
    "from an empty cache, best of the runs noted in the cell.",
    "- Proxy rows (`pip-proxy`, `uv-proxy`, `npm-proxy`): the same install through a "
    "pull-through proxy of an upstream on loopback, *cold* (the proxy's cache empty: each "
    "cold run gets a new proxy) and *warm* (the proxy filled by the last cold run; the "
    "client's cache still empty), the targets interleaved run by run. Artifortress: a remote "
    "repository of the upstream (`metadata_ttl` 10m) and a virtual over an empty hosted "
    "repository and the remote, the client pointed at the virtual only; devpi: a mirror "
    "index (`type=mirror`, `mirror_url` the upstream); Verdaccio: a second Verdaccio whose "
    "only uplink is the upstream (`maxage: 10m`, as Artifortress's TTL). Upstreams: for pip "
    "and uv, nginx serving a static PEP 503 tree of the real wheel set as PyPI announces it "
    "(`#sha256=`, `data-requires-python`, PEP 658 metadata files); for npm, the Verdaccio "
    "above (no uplinks) holding the express tree. The ceiling column is the client pointed "
    "at the upstream itself; goals: cold within 1.3x of it, warm faster than every peer. "
    "Cells show the best run, with the median and the worst in the note.",
]
