"""The client rows: real twine, pip, uv and npm against every server, timed; big files; RSS.

Each client runs with an empty cache, its own configuration (no machine-wide
indexes), and the credentials a user would configure.  A row's figure is the
best of the runs (the machine is shared), seconds or MB/s.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from pathlib import Path

from bench.context import Bench, is_subject
from bench.model import SUBJECT, Figure, Row
from bench.peers import Artifortress, NpmRegistry
from bench.procs import MiB, client_environ, peak_rss, run, timed

NPM_ROOT_RANGE = "^4.0.0"


def _figure_seconds(seconds: list[float]) -> Figure:
    return Figure(min(seconds), note=f"best of {len(seconds)}" if len(seconds) > 1 else "")


def twine_upload(bench: Bench) -> Row:
    """twine upload of the real Python set into each PyPI server (one twine process)."""
    row = Row(
        "twine-upload",
        f"twine upload of the Python set ({len(bench.real_wheels)} wheels)",
        "s",
        False,
        bound="twine hashes and uploads one file per request, sequentially; "
        "the server's per-upload work (verify, store, re-render the project page).",
    )
    for server in bench.pypi_servers():
        assert server.pypi is not None
        print(f"  twine -> {server.name}", flush=True)
        seconds = timed(
            [
                sys.executable,
                "-m",
                "twine",
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                server.pypi.upload,
                "-u",
                server.pypi.user,
                "-p",
                server.pypi.password,
                *bench.real_wheels,
            ],
            env=client_environ(),
            timeout=900,
            log=bench.log,
        )
        note = ""
        if bench.refused and is_subject(server):
            note = f"{len(bench.refused)} wheels adjusted (see below)"
        row.figures[server.name] = Figure(seconds, note=note)
    return row


def python_install(bench: Bench, index_url: str, tool: str) -> float:
    """Seconds of one ``pip install`` or ``uv pip install`` of the Python set from *index_url*.

    The client starts with an empty cache and installs into a scratch folder,
    removed afterwards.
    """
    target = bench.scratch(f"{tool}-target")
    shutil.rmtree(target)
    args: list[str | Path]
    if tool == "pip":
        args = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--quiet",
            "--only-binary",
            ":all:",
            "--target",
            target,
        ]
    else:
        args = [
            Path(sys.executable).with_name("uv"),
            "pip",
            "install",
            "--no-cache",
            "--no-config",
            "--quiet",
            "--python",
            sys.executable,
            "--target",
            target,
        ]
    args += ["--index-url", index_url, *bench.real_names]
    seconds = timed(args, env=client_environ(), timeout=900, log=bench.log)
    shutil.rmtree(target)
    return seconds


def _install_row(bench: Bench, tool: str) -> Row:
    row = Row(
        f"{tool}-install",
        f"`{tool} install` of the Python set, empty cache",
        "s",
        False,
        bound="Mostly the client's own work (resolving, unpacking, writing files); the "
        "server's share is the project pages, metadata and wheel downloads.",
    )
    runs = 1 if bench.quick else 2
    for server in bench.pypi_servers():
        assert server.pypi is not None
        print(f"  {tool} install <- {server.name}", flush=True)
        url = server.pypi.install_url()
        row.figures[server.name] = _figure_seconds(
            [python_install(bench, url, tool) for _ in range(runs)]
        )
    return row


def pip_install(bench: Bench) -> Row:
    return _install_row(bench, "pip")


def uv_install(bench: Bench) -> Row:
    return _install_row(bench, "uv")


def _npm_environ(bench: Bench, registry: NpmRegistry, name: str) -> dict[str, str]:
    """A private npm home: .npmrc with the registry and token, an empty cache."""
    root = bench.scratch(f"npm-{name}")
    shutil.rmtree(root)
    (root / "home").mkdir(parents=True)
    npmrc = root / "npmrc"
    url = registry.url
    npmrc.write_text(f"registry={url}\n{url.removeprefix('http:')}:_authToken={registry.token}\n")
    return client_environ(
        {
            "HOME": str(root / "home"),
            "npm_config_userconfig": str(npmrc),
            "npm_config_cache": str(root / "cache"),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
        }
    )


def npm_install(bench: Bench) -> Row:
    """``npm install`` of express 4 (its whole tree published first) from an empty cache."""
    row = Row(
        "npm-install",
        f"`npm install express@{NPM_ROOT_RANGE}` ({len(bench.npm_real)} packages), empty cache",
        "s",
        False,
        bound="npm fetches every packument (full or abbreviated) and tarball, about "
        "140 requests with up to 16 in parallel, then writes node_modules.",
    )
    runs = 1 if bench.quick else 3
    for server in bench.npm_servers():
        assert server.npm is not None
        print(f"  npm install <- {server.name}", flush=True)
        name = f"install-{_slug(server.name)}"
        seconds = [express_install(bench, server.npm, name) for _ in range(runs)]
        row.figures[server.name] = _figure_seconds(seconds)
    return row


def express_install(bench: Bench, registry: NpmRegistry, name: str) -> float:
    """Seconds of one ``npm install express@4`` from *registry*, in a new app, empty cache."""
    environ = _npm_environ(bench, registry, name)
    app = Path(environ["HOME"]).parent / "app"
    app.mkdir()
    (app / "package.json").write_text(
        f'{{"name": "app", "version": "1.0.0", "private": true, '
        f'"dependencies": {{"express": "{NPM_ROOT_RANGE}"}}}}'
    )
    seconds = timed(
        ["npm", "install", "--no-audit", "--no-fund"],
        cwd=app,
        env=environ,
        timeout=600,
        log=bench.log,
    )
    if not (app / "node_modules" / "express" / "package.json").exists():
        raise RuntimeError(f"npm install from {registry.url} did not install express")
    return seconds


def _slug(name: str) -> str:
    """A server's name as a folder name: its first word, lower case."""
    return name.split()[0].lower()


def npm_publish(bench: Bench) -> Row:
    """``npm publish TARBALL`` of N versions of one package, one npm process per version."""
    count = len(bench.npm_publish)
    row = Row(
        "npm-publish",
        f"`npm publish` of {count} versions (sequential)",
        "s",
        False,
        bound="One npm process per version (about 0.3 s of Node start-up each) plus "
        "the server's publish: parse, verify, store, re-render the packument.",
    )
    for server in bench.npm_servers():
        print(f"  npm publish x{count} -> {server.name}", flush=True)
        assert server.npm is not None
        environ = _npm_environ(bench, server.npm, f"publish-{_slug(server.name)}")
        started = time.perf_counter()
        for tarball in bench.npm_publish:
            run(
                ["npm", "publish", tarball, "--tag", "latest"],
                env=environ,
                cwd=Path(environ["HOME"]),
                timeout=120,
            )
        row.figures[server.name] = Figure(time.perf_counter() - started)
    return row


def _sha256_rate(path: Path) -> float:
    """Single-core hashlib.sha256 over the file in 1 MiB reads (from the page cache)."""
    best = 0.0
    for _ in range(3):
        sha = hashlib.sha256()
        started = time.perf_counter()
        with path.open("rb") as data:
            while chunk := data.read(MiB):
                sha.update(chunk)
        best = max(best, path.stat().st_size / 1e6 / (time.perf_counter() - started))
    return best


def _curl(args: list[str | Path], metric: str) -> float:
    done = run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", f"%{{{metric}}}", *args], timeout=600)
    return float(done.stdout) / 1e6


def _big_url(subject: Artifortress, attempt: int) -> str:
    return f"{subject.generic}bench-big/{attempt}.0.{int(time.time())}/big.bin"


def big_upload(bench: Bench) -> Row:
    """256 MiB generic PUT with its checksum header; ceiling: single-core sha256."""
    assert bench.big is not None
    size = bench.big.stat().st_size
    row = Row(
        "upload-big",
        f"Upload of {size // MiB} MiB (generic PUT, curl)",
        "MB/s",
        True,
        ceiling="sha256",
        bound="Reading the body, hashing it (one core) and writing "
        "and fsyncing the file; the ceiling is hashlib.sha256 alone.",
    )
    # New bytes on every attempt: identical bytes are only verified, not written
    # again (the store holds them), which would flatter the figure.
    files = [bench.big, _variant(bench, bench.big)]
    digests = [hashlib.sha256(file.read_bytes()).hexdigest() for file in files]
    for subject in bench.subjects:
        rates = []
        for attempt, (file, digest) in enumerate(zip(files, digests, strict=True)):
            url = _big_url(subject, attempt)
            rates.append(
                _curl(
                    [
                        "-T",
                        file,
                        "-H",
                        f"Authorization: Bearer {subject.token}",
                        "-H",
                        f"X-Checksum-Sha256: {digest}",
                        url,
                    ],
                    "speed_upload",
                )
            )
        row.figures[subject.name] = Figure(max(rates), note="best of 2, new bytes each")
    row.figures["sha256"] = Figure(_sha256_rate(bench.big), note="hashlib, one core")
    return row


def _variant(bench: Bench, original: Path) -> Path:
    """A copy of *original* with other bytes (its first block changed): another blob."""
    copy = bench.scratch("big") / f"{original.name}.variant"
    if not copy.exists():
        shutil.copyfile(original, copy)
        with copy.open("r+b") as out:
            out.write(b"another blob, same size" * 100)
    return copy


def big_download(bench: Bench) -> Row:
    """256 MiB GET of the file just uploaded; ceiling: nginx serving the same file."""
    assert bench.big is not None
    size = bench.big.stat().st_size
    row = Row(
        "download-big",
        f"Download of {size // MiB} MiB (curl)",
        "MB/s",
        True,
        ceiling="nginx",
        bound="sendfile(2) from the page cache in both; curl's receive loop on the same 2 cores.",
    )
    digest = hashlib.sha256(bench.big.read_bytes()).hexdigest()
    for subject in bench.subjects:
        url = _big_url(subject, 9)
        auth = ["-H", f"Authorization: Bearer {subject.token}"]
        _curl(["-T", bench.big, *auth, "-H", f"X-Checksum-Sha256: {digest}", url], "speed_upload")
        rates = [_curl([*auth, url], "speed_download") for _ in range(3)]
        row.figures[subject.name] = Figure(max(rates), note="best of 3")
    if bench.nginx is not None:
        url = bench.nginx.serve("big.bin", bench.big)
        rates = [_curl([url], "speed_download") for _ in range(3)]
        row.figures["nginx"] = Figure(max(rates), note="best of 3, same file")
    return row


def rss(bench: Bench) -> Row:
    """Peak RSS (VmHWM) of the busiest serving process of each server, over the whole run."""
    row = Row(
        "rss",
        "Peak RSS of one serving process over the run",
        "MiB",
        False,
        bound="Artifortress: the larger of its gunicorn workers (the master is not "
        "counted); peers: their single server process.",
    )
    for server in bench.all_servers():
        if server.name == "nginx":
            continue
        peaks = [peak_rss(pid) for pid in server.rss_pids()]
        if peaks:
            note = f"{len(peaks)} workers" if is_subject(server) else ""
            row.figures[server.name] = Figure(max(peaks) / MiB, note=note)
    assert SUBJECT in row.figures or not bench.subjects
    return row
