"""``make bench``: set up the peers, load the same data everywhere, measure, write the report.

Environment:

- ``BENCH_ROWS=simple-html,npm-install,...``: run a subset (``rss`` is always added);
  keys are listed by ``python -m bench.run --list``.
- ``BENCH_QUICK=1``: small data, short wrk runs, single client runs (3 on the proxy rows,
  for their spread) (for development).
- ``BENCH_SECONDS=N``: seconds per wrk run (default 2; 1 with ``BENCH_QUICK``).
- ``BENCH_RUNS=N``: wrk runs per target on the read rows, interleaved target by target
  (default 5; 3 with ``BENCH_QUICK``): each cell is the median run, with the lowest and
  highest throughput in its note.
- ``BENCH_PG=1``: also run Artifortress on PostgreSQL (127.0.0.1:5432) as a second column.
- ``BENCH_ACCEL=0``: skip the "Artifortress + nginx" column (the same installation behind
  deploy/nginx.conf with ARTIFORTRESS_ACCEL_REDIRECT) on the read rows.
- ``BENCH_PROFILE=0``: skip the py-spy profiles of Artifortress on the read rows (taken
  in extra wrk runs after the measured ones, and summarized in the report).
- ``BENCH_OUT=path``: where the report goes.  A full run writes bench/REPORT.md; a quick
  or partial run writes bench/work/REPORT.md so the committed report stays whole.

Everything lives in bench/work (git-ignored); every process started is stopped by PID.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from bench import data, endtoend, oci, proxy, rows, ui
from bench.clients import Http, basic, refusals
from bench.context import Bench
from bench.floor import FalconFloor
from bench.model import SUBJECT, SUBJECT_PG, Figure, Row
from bench.peers import (
    AccelFront,
    Artifortress,
    Devpi,
    Nginx,
    PyPIServer,
    Server,
    Verdaccio,
    install,
)
from bench.procs import MiB, run
from bench.report import render

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"


@dataclasses.dataclass(frozen=True)
class Spec:
    """A row: its function and what it needs set up first."""

    measure: Callable[[Bench], Row | list[Row]]  # the proxy rows give a cold and a warm row
    needs: frozenset[str]


def _spec(measure: Callable[[Bench], Row | list[Row]], *needs: str) -> Spec:
    return Spec(measure, frozenset(needs))


# In the order they run: uploads first (into servers already holding the generated data).
ROWS: dict[str, Spec] = {
    "twine-upload": _spec(endtoend.twine_upload, "pypi", "real-py"),
    "simple-html": _spec(rows.simple_html, "pypi", "pypi-data", "nginx"),
    "simple-json": _spec(rows.simple_json, "pypi", "pypi-data", "nginx"),
    "root-index": _spec(rows.root_index, "pypi", "pypi-data", "nginx"),
    "packument-full": _spec(rows.packument_full, "npm", "npm-data", "nginx"),
    "packument-abbrev": _spec(rows.packument_abbreviated, "npm", "npm-data", "nginx"),
    "packument-c20": _spec(rows.packument_c20, "npm", "npm-data", "nginx"),
    "npm-tarball": _spec(rows.npm_tarball, "npm", "npm-data", "nginx"),
    # The web UI: Artifortress alone renders these pages (Verdaccio's nearest is JSON).
    "ui-package-npm": _spec(ui.ui_package_npm, "npm", "npm-data"),
    "ui-package-pypi": _spec(ui.ui_package_pypi, "pypi-data"),
    "ui-repo": _spec(ui.ui_repo_page, "pypi-data"),
    "npm-publish": _spec(endtoend.npm_publish, "npm", "npm-publish"),
    "upload-big": _spec(endtoend.big_upload, "big"),
    "download-big": _spec(endtoend.big_download, "big", "nginx"),
    "pip-install": _spec(endtoend.pip_install, "pypi", "real-py"),
    "uv-install": _spec(endtoend.uv_install, "pypi", "real-py"),
    "npm-install": _spec(endtoend.npm_install, "npm", "real-npm"),
    "pip-proxy": _spec(proxy.pip_proxy, "devpi", "static-upstream"),
    "uv-proxy": _spec(proxy.uv_proxy, "devpi", "static-upstream"),
    "npm-proxy": _spec(proxy.npm_proxy, "npm", "real-npm"),
    # Container images: skopeo against Artifortress and docker-registry of their own.
    "oci-push": _spec(oci.oci_push, "oci"),
    "oci-pull": _spec(oci.oci_pull, "oci"),
    "rss": _spec(endtoend.rss),
}
EXTRA = ("blobs",)  # sections, not rows


def selected() -> list[str]:
    wanted = [key.strip() for key in os.environ.get("BENCH_ROWS", "").split(",") if key.strip()]
    unknown = set(wanted) - set(ROWS) - set(EXTRA)
    if unknown:
        raise SystemExit(f"unknown BENCH_ROWS {sorted(unknown)}; known: {[*ROWS, *EXTRA]}")
    keys = [key for key in [*ROWS, *EXTRA] if not wanted or key in wanted]
    return keys if "rss" in keys or not wanted else [*keys, "rss"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    import psycopg

    name = f"artifortress_bench_{os.getpid()}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _timed_load(row: Row, server: Server, load: Callable[[], object]) -> None:
    started = time.perf_counter()
    load()
    row.figures[server.name] = Figure(time.perf_counter() - started)


def prepare(bench: Bench, keys: list[str], needs: set[str]) -> list[Row]:
    """Download and generate the data, start the servers, load them; the bulk-load rows."""
    sizes, cache = bench.sizes, bench.cache
    loaded: list[Row] = []
    if "real-py" in needs:
        bench.real_wheels = data.python_set(cache, bench.quick)
        bench.real_names = data.PYTHON_SET_QUICK if bench.quick else data.PYTHON_SET
    if "real-npm" in needs:
        bench.npm_real = data.npm_tree(cache)
    if "npm-publish" in needs:
        bench.npm_publish = data.npm_generated(cache, "bench-publish", sizes.publish_versions)
    if "big" in needs:
        bench.big = data.big_file(cache, sizes.big_file)
    for server in bench.all_servers():
        print(f"starting {server.name}", flush=True)
        server.start()
    if "pypi-data" in needs:
        wheels = data.many_files_project(cache, sizes.many_files)
        wheels += data.many_projects(cache, sizes.projects)
        row = Row(
            "load-wheels",
            f"Bulk upload of {len(wheels):,} generated wheels (legacy form, 4 connections)",
            "s",
            False,
            bound="The server's per-upload work; pypiserver is not comparable (its "
            "bulk load is copying files into its folder).",
        )
        for server in bench.pypi_servers():
            print(f"loading {len(wheels)} wheels into {server.name}", flush=True)
            _timed_load(row, server, lambda server=server: server.load_wheels(wheels))  # type: ignore[misc]
        row.figures["pypiserver"] = Figure(None, note="files copied into its folder")
        loaded.append(row)
    if "real-py" in needs:
        accepted_python_set(bench)
    if "real-py" in needs and "twine-upload" not in keys:
        for server in bench.pypi_servers():
            server.load_wheels(bench.real_wheels)
    npm_tarballs = (
        data.npm_generated(cache, rows.MANY, sizes.npm_versions) if ("npm-data" in needs) else []
    )
    if npm_tarballs:
        row = Row(
            "load-npm",
            f"Bulk publish of {len(npm_tarballs)} versions of one package "
            "(publish documents over HTTP, sequential)",
            "s",
            False,
            bound="Each publish re-reads and rewrites the package's metadata.",
        )
        for server in bench.npm_servers():
            print(f"publishing {len(npm_tarballs)} versions into {server.name}", flush=True)
            _timed_load(row, server, lambda server=server: server.load_tarballs(npm_tarballs))  # type: ignore[misc]
        loaded.append(row)
    if bench.npm_real:
        for server in bench.npm_servers():
            server.load_tarballs(bench.npm_real)
    return loaded


def accepted_python_set(bench: Bench) -> None:
    """Find the real wheels Artifortress refuses; every server gets the same adjusted copies.

    The probe uploads into a repository of its own, so the measured rows start
    from the same state on every server.
    """
    subject = bench.subject
    subject.create_repo("probe", "pypi")
    probe = Http(f"{subject.base}/pypi/probe/legacy/", basic("__token__", subject.token))
    refused = refusals(probe, "", bench.real_wheels)
    folder = bench.cache / "pypi-real-adjusted"
    copies = {wheel: data.without_license_files(wheel, folder) for wheel in refused}
    bench.real_wheels = [copies.get(wheel, wheel) for wheel in bench.real_wheels]
    bench.refused = {wheel.name: answer for wheel, answer in refused.items()}


def blob_section(bench: Bench) -> str:
    """The blob plane's own benchmark (bench/blobs.py, when present), embedded.

    It runs as its own process from a copy under bench/work, so it writes its
    results file there and not over bench/results; only its command line matters.
    """
    script = ROOT / "blobs.py"
    if not script.exists():
        return ""
    copy = bench.scratch("blobs") / "blobs.py"
    shutil.copyfile(script, copy)
    memory = 0 if bench.quick else 1024
    run(
        [sys.executable, copy, "--size-mib", str(bench.sizes.big_file // MiB),
         "--memory-mib", str(memory), "--no-s3"],
        env={**os.environ, "PYTHONPATH": str(ROOT.parent)}, timeout=900, log=bench.log,
    )  # fmt: skip
    text = (copy.parent / "results" / "blobs.md").read_text()
    body = text.split("\n", 1)[1]  # without its own title
    return body.replace("\n## ", "\n### ").strip()


def refusal_findings(bench: Bench) -> list[str]:
    """Real wheels from PyPI that Artifortress refused, for the report's verdicts."""
    if not bench.refused:
        return []
    names = ", ".join(sorted(bench.refused))
    reason = next(iter(bench.refused.values()))
    return [
        f"- **Real wheels refused**: Artifortress refused {len(bench.refused)} of the "
        f"{len(bench.real_wheels)} wheels of the Python set exactly as PyPI serves them "
        f"({names}); first answer: `{reason[:240]}`. Every server was given copies of these "
        "wheels with the `License-File` lines removed from METADATA (RECORD updated), so "
        "the rows still compare the same bytes everywhere."
    ]


def _failed(key: str, error: BaseException) -> Row:
    row = Row(key, f"{key} (failed)", "", True)
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    row.figures[SUBJECT] = Figure(None, note=f"{type(error).__name__}: {first[:200]}")
    return row


def main() -> int:
    if "--list" in sys.argv:
        print("\n".join([*ROWS, *EXTRA]))
        return 0
    keys = selected()
    quick = _flag("BENCH_QUICK")
    needs = set().union(*(ROWS[key].needs for key in keys if key in ROWS))
    out = Path(
        os.environ.get("BENCH_OUT")
        or (WORK / "REPORT.md" if quick or os.environ.get("BENCH_ROWS") else ROOT / "REPORT.md")
    )
    WORK.mkdir(exist_ok=True)
    log = WORK / "bench.log"
    print(f"rows: {', '.join(keys)}; set-up log: {log}", flush=True)
    install(WORK, log, oci="oci" in needs)
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()

    subjects = [Artifortress(WORK)]
    pypi_peers: list[Server] = []
    if "pypi" in needs:
        pypi_peers = [PyPIServer(WORK), Devpi(WORK)]
    elif "devpi" in needs:  # the proxy rows need devpi only, for its mirror indexes
        pypi_peers = [Devpi(WORK)]
    npm_peers: list[Server] = [Verdaccio(WORK)] if "npm" in needs else []
    bench = Bench(
        work=WORK,
        cache=WORK / "cache",
        log=log,
        sizes=data.Sizes.quick() if quick else data.Sizes(),
        quick=quick,
        seconds=float(os.environ.get("BENCH_SECONDS") or (1 if quick else 2)),
        runs=int(os.environ.get("BENCH_RUNS") or (3 if quick else 5)),
        profile=os.environ.get("BENCH_PROFILE", "1") != "0",
        subjects=subjects,
        pypi_peers=pypi_peers,
        npm_peers=npm_peers,
        # nginx: the read rows' ceiling, or the proxy rows' static PyPI upstream.
        nginx=Nginx(WORK) if needs & {"nginx", "static-upstream"} else None,
    )
    if "nginx" in needs:
        bench.floor = FalconFloor(WORK)
    if "nginx" in needs and os.environ.get("BENCH_ACCEL", "1") != "0":
        bench.fronts.append(AccelFront(WORK, subjects[0]))
    bench.cache.mkdir(exist_ok=True)
    results: list[Row] = []
    blobs = ""
    with contextlib.ExitStack() as stack:
        if _flag("BENCH_PG"):
            url = stack.enter_context(postgres_database())
            subjects.append(Artifortress(WORK, url, SUBJECT_PG))
        for server in bench.all_servers():
            stack.callback(server.stop)
        results += prepare(bench, keys, needs)
        for key in keys:
            print(f"row {key}", flush=True)
            try:
                if key == "blobs":
                    blobs = blob_section(bench)
                else:
                    measured = ROWS[key].measure(bench)
                    results += measured if isinstance(measured, list) else [measured]
            except Exception as error:  # one broken row must not lose the others
                traceback.print_exc()
                results.append(_failed(key, error))
    settings = f"rows: {'all' if not os.environ.get('BENCH_ROWS') else ', '.join(keys)}"
    settings += f"; {'quick' if quick else 'full'} data"
    settings += f"; wrk {bench.runs} x {bench.seconds:.0f} s per target"
    report = render(
        results,
        work=WORK,
        settings=settings,
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        minutes=(time.monotonic() - clock) / 60,
        profiles=bench.profiles,
        blobs=blobs,
        findings=refusal_findings(bench),
    )
    out.write_text(report)
    print(f"wrote {out}")
    return 0


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the ExitStack, which stops every server


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
