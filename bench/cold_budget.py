"""Cold reads through a virtual: CPU and SQL per request (``python -m bench.cold_budget``).

The set-up of the proxy rows (bench/proxy.py) in one process: a virtual over
an empty hosted repository and a remote whose upstream is a static server on
127.0.0.1 (``tests/support/upstream.py``), for PyPI (projects of two wheels
with PEP 658 metadata) and npm (packages of three versions).  Every request
asks for something the gateway has not cached yet: a project page, then its
metadata file, then its wheel; a packument, then its tarball.  The figures
are process CPU per request, all threads counted (the fetch threads that
store and publish included), the median over ``BENCH_COLD_PROJECTS`` projects
(40 by default), and the SQL statements the request itself ran.  Then the
same requests in a burst, 8 at a time, as a cold install sends them: there
the stores and publishes of several files share a transaction.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import statistics
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from artifortress.remote.deferred import wait_for_deferred
from artifortress.remote.relay import wait_for_detached
from artifortress.testing.dbwork import WorkMeter
from artifortress.testing.helpers import Api
from bench.virtual_budget import _installation  # the same virtuals, over their own upstream
from tests.support.upstream import Upstream

ABBREVIATED = "application/vnd.npm.install-v1+json"
PROJECTS = int(os.environ.get("BENCH_COLD_PROJECTS", "40"))


def _wheel(name: str, version: str) -> tuple[str, bytes, bytes]:
    filename = f"{name}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(f"{name}/__init__.py", b"# " + b"x" * 2000)
        archive.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
    return filename, data.getvalue(), metadata


def _pypi_project(upstream: Upstream, name: str) -> None:
    anchors = []
    for version in ("1.0", "2.0"):
        filename, wheel, metadata = _wheel(name, version)
        upstream.serve(f"/files/{filename}", wheel)
        upstream.serve(f"/files/{filename}.metadata", metadata)
        digest, meta = hashlib.sha256(wheel).hexdigest(), hashlib.sha256(metadata).hexdigest()
        anchors.append(
            f'<a href="../../files/{filename}#sha256={digest}" '
            f'data-core-metadata="sha256={meta}">{filename}</a><br/>'
        )
    page = "<!DOCTYPE html><html><body>" + "\n".join(anchors) + "</body></html>"
    upstream.serve(f"/simple/{name}/", page.encode(), content_type="text/html")


def _tgz(name: str, version: str) -> bytes:
    buffer = io.BytesIO()
    files = {
        "package/package.json": json.dumps({"name": name, "version": version}).encode(),
        "package/index.js": b"// " + b"x" * 8000,
    }
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def _npm_package(upstream: Upstream, name: str) -> None:
    versions, times = {}, {"created": "2020-01-01T00:00:00.000Z"}
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        data = _tgz(name, version)
        upstream.serve(f"/files/{name}-{version}.tgz", data)
        versions[version] = {
            "name": name,
            "version": version,
            "license": "MIT",
            "dependencies": {"left-pad": "^1.0.0"},
            "dist": {
                "tarball": f"{upstream.url}files/{name}-{version}.tgz",
                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
            },
        }
        times[version] = "2021-01-01T00:00:00.000Z"
    document = {"name": name, "dist-tags": {"latest": "2.0.0"}, "versions": versions, "time": times}
    upstream.serve(f"/{name}", json.dumps(document).encode(), content_type="application/json")


#: One kind of cold request: its name, and its path for project number n.
Kind = tuple[str, Callable[[int], str], dict[str, str]]

KINDS: list[Kind] = [
    ("PyPI project page", lambda n: f"/pypi/py-all/simple/p{n}/", {}),
    (
        "PEP 658 metadata file",
        lambda n: f"/pypi/py-all/files/p{n}/1.0/p{n}-1.0-py3-none-any.whl.metadata",
        {},
    ),
    ("wheel", lambda n: f"/pypi/py-all/files/p{n}/1.0/p{n}-1.0-py3-none-any.whl", {}),
    ("npm packument, abbreviated", lambda n: f"/npm/js-all/n{n}", {"Accept": ABBREVIATED}),
    ("npm tarball", lambda n: f"/npm/js-all/n{n}/-/n{n}-2.0.0.tgz", {}),
]


def _one_by_one(reader: Api, meter: WorkMeter, projects: int) -> dict[str, tuple[float, int]]:
    """Per kind: median CPU (µs) and statements of a cold request, asked one at a time."""
    seen: dict[str, list[tuple[float, int]]] = {name: [] for name, _, _ in KINDS}
    for n in range(projects):
        for name, path, headers in KINDS:
            started = time.process_time()
            with meter.measure() as work:
                answer = reader.get(path(n), headers=headers)  # waits for the stores too
            assert answer.status_code == 200, (path(n), answer.text)
            seen[name].append(((time.process_time() - started) * 1e6, work.statements))
    return {
        name: (statistics.median(c for c, _ in runs), int(statistics.median(s for _, s in runs)))
        for name, runs in seen.items()
    }


def _burst(reader: Api, first: int, projects: int) -> dict[str, float]:
    """Per kind: CPU (µs) per cold request when asked 8 at a time."""
    figures = {}
    for name, path, headers in KINDS:

        def get(
            n: int, path: Callable[[int], str] = path, headers: dict[str, str] = headers
        ) -> None:
            answer = reader.client.simulate_get(path(n), headers=reader.headers(headers))
            assert answer.status_code == 200, (path(n), answer.text)

        started = time.process_time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(get, range(first, first + projects)))
        wait_for_detached()
        wait_for_deferred()
        figures[name] = (time.process_time() - started) / projects * 1e6
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, Upstream().running() as upstream:
        for n in range(2 * PROJECTS):
            _pypi_project(upstream, f"p{n}")
            _npm_package(upstream, f"n{n}")
        services, reader = _installation(Path(folder), upstream)
        alone = _one_by_one(reader, WorkMeter(services.engine), PROJECTS)
        burst = _burst(reader, PROJECTS, PROJECTS)
        print("| cold request through the virtual | CPU, one at a time | SQL | CPU, 8 at a time |")
        print("|---|---:|---:|---:|")
        for name, (cpu, statements) in alone.items():
            print(f"| {name} | {cpu:,.0f} µs | {statements} | {burst[name]:,.0f} µs |")
        services.close()


if __name__ == "__main__":
    main()
