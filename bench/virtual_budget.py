"""Warm reads through a virtual repository: CPU and SQL per request.

``python -m bench.virtual_budget``.

The set-up of the proxy rows (bench/proxy.py), in one process: for PyPI and
npm each, a virtual over an empty hosted repository and a remote whose
upstream is a static server on 127.0.0.1 (``tests/support/upstream.py``). Every
page, packument and file is asked for once to fill the gateway's cache; then
each warm request runs a few thousand times per round and the least per-call
process CPU of seven rounds is printed, with the SQL statements it ran.
``--profile NAME`` prints a cProfile of one row instead (its name's start).
"""

from __future__ import annotations

import base64
import cProfile
import gzip
import hashlib
import html
import io
import json
import os
import pstats
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import falcon.testing

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.settings import Settings
from artifortress.testing.databases import fresh_sqlite, migrated_sqlite_template
from artifortress.testing.dbwork import WorkMeter
from artifortress.testing.helpers import Api, ApiFactory
from bench.budget import _least_cpu
from bench.budget import _wheel as _hosted_wheel
from tests.support.upstream import Upstream

JSON = "application/vnd.pypi.simple.v1+json"
ABBREVIATED = "application/vnd.npm.install-v1+json"
#: Versions of the upstream's project and package (``BENCH_VIRTUAL_VERSIONS``; 40 by default).
VERSIONS = int(os.environ.get("BENCH_VIRTUAL_VERSIONS") or 40)


def _wheel(version: str) -> tuple[str, bytes, bytes]:
    filename = f"foo-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: foo\nVersion: {version}\n".encode()
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("foo/__init__.py", b"")
        archive.writestr(f"foo-{version}.dist-info/METADATA", metadata)
        archive.writestr(f"foo-{version}.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
    return filename, data.getvalue(), metadata


def _pypi_upstream(upstream: Upstream) -> None:
    """Project ``foo``, VERSIONS wheels with PEP 658 metadata, as a PEP 503 HTML page."""
    anchors = []
    for number in range(1, VERSIONS + 1):
        filename, wheel, metadata = _wheel(f"{number}.0")
        upstream.serve(f"/files/{filename}", wheel)
        upstream.serve(f"/files/{filename}.metadata", metadata)
        digest, meta = hashlib.sha256(wheel).hexdigest(), hashlib.sha256(metadata).hexdigest()
        anchors.append(
            f'<a href="../../files/{filename}#sha256={digest}" data-requires-python="&gt;=3.8" '
            f'data-core-metadata="sha256={meta}">{html.escape(filename)}</a><br/>'
        )
    page = "<!DOCTYPE html><html><body>" + "\n".join(anchors) + "</body></html>"
    upstream.serve("/simple/foo/", page.encode(), content_type="text/html")


def _tgz(version: str) -> bytes:
    buffer = io.BytesIO()
    data = json.dumps({"name": "bar", "version": version}).encode()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def _npm_upstream(upstream: Upstream) -> None:
    """Package ``bar``, VERSIONS versions, as a registry's full packument."""
    versions, times = {}, {"created": "2020-01-01T00:00:00.000Z"}
    for number in range(1, VERSIONS + 1):
        version = f"{number}.0.0"
        data = _tgz(version)
        upstream.serve(f"/files/bar-{version}.tgz", data)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        versions[version] = {
            "name": "bar",
            "version": version,
            "description": "a package from upstream",
            "license": "MIT",
            "dependencies": {"baz": "^1.0.0"},
            "dist": {
                "tarball": f"{upstream.url}files/bar-{version}.tgz",
                "integrity": integrity,
                "shasum": hashlib.sha1(data).hexdigest(),  # noqa: S324 (npm's own field)
            },
        }
        times[version] = "2021-01-01T00:00:00.000Z"
    document = {
        "_id": "bar",
        "name": "bar",
        "dist-tags": {"latest": f"{VERSIONS}.0.0"},
        "versions": versions,
        "time": times,
    }
    upstream.serve("/bar", json.dumps(document).encode(), content_type="application/json")


def _installation(folder: Path, upstream: Upstream) -> tuple[Services, Api]:
    url = fresh_sqlite(migrated_sqlite_template(folder), folder)
    environ = {"ARTIFORTRESS_HOME": str(folder / "home"), "ARTIFORTRESS_DATABASE_URL": url}
    services = Services.build(Settings.load(environ=environ))
    client = falcon.testing.TestClient(create_app(services))
    people = ApiFactory(client, services)
    admin = people.as_user("admin", admin=True)
    for fmt, prefix, path in (("pypi", "py", "simple/"), ("npm", "js", "")):
        repos = [
            {"key": f"{prefix}-private", "format": fmt},
            {
                "key": f"{prefix}-up",
                "format": fmt,
                "kind": "remote",
                "upstream": {"url": upstream.url + path},
                "metadata_ttl": "10m",
            },
            {
                "key": f"{prefix}-all",
                "format": fmt,
                "kind": "virtual",
                "members": [f"{prefix}-private", f"{prefix}-up"],
            },
        ]
        for repo in repos:
            answer = admin.post("/v1/repos", repo)
            assert answer.status_code == 201, answer.text
    body, content_type = _hosted_wheel()  # project 'budget' in the hosted member
    uploaded = admin.post("/pypi/py-private/legacy/", body, headers={"Content-Type": content_type})
    assert uploaded.status_code == 200, uploaded.text
    roles = {key: ["read"] for p in ("py", "js") for key in (f"{p}-private", f"{p}-up", f"{p}-all")}
    return services, people.as_user("reader", roles=roles)


def _requests(reader: Api) -> dict[str, Callable[[], falcon.testing.Result]]:
    wheel = "foo-1.0-py3-none-any.whl"
    return {
        "virtual simple page, HTML": lambda: reader.get("/pypi/py-all/simple/foo/"),
        "virtual simple page, JSON": lambda: reader.get(
            "/pypi/py-all/simple/foo/", headers={"Accept": JSON}
        ),
        "virtual simple page of a hosted project, JSON": lambda: reader.get(
            "/pypi/py-all/simple/budget/", headers={"Accept": JSON}
        ),
        "PEP 658 metadata file": lambda: reader.get(f"/pypi/py-all/files/foo/1.0/{wheel}.metadata"),
        "wheel": lambda: reader.get(f"/pypi/py-all/files/foo/1.0/{wheel}"),
        "npm packument, full": lambda: reader.get("/npm/js-all/bar"),
        "npm packument, abbreviated": lambda: reader.get(
            "/npm/js-all/bar", headers={"Accept": ABBREVIATED}
        ),
        "npm tarball": lambda: reader.get("/npm/js-all/bar/-/bar-1.0.0.tgz"),
    }


def _statements(meter: WorkMeter, request: Callable[[], falcon.testing.Result]) -> int:
    counts = []
    for _ in range(3):
        with meter.measure() as work:
            answer = request()
        assert answer.status_code == 200, answer.text
        counts.append(work.statements)
    return min(counts)


def main(argv: list[str]) -> None:
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    with tempfile.TemporaryDirectory() as folder, Upstream().running() as upstream:
        _pypi_upstream(upstream)
        _npm_upstream(upstream)
        services, reader = _installation(Path(folder), upstream)
        requests = _requests(reader)
        for request in requests.values():  # fill the gateway's cache
            answer = request()
            assert answer.status_code == 200, answer.text
        meter = WorkMeter(services.engine)
        if profile is not None:
            name, request = next((n, r) for n, r in requests.items() if n.startswith(profile))
            print(f"profile of {name!r}, 2000 calls")
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [request() for _ in range(2000)])
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            return
        print("| warm request through the virtual | CPU per call | SQL statements |")
        print("|---|---:|---:|")
        for name, request in requests.items():
            statements = _statements(meter, request)
            print(f"| {name} | {_least_cpu(request):,.1f} µs | {statements} |")
        services.close()


if __name__ == "__main__":
    main(sys.argv[1:])
