"""The write budget: CPU and statements per upload, in one process (``python -m bench.write_cost``).

A throwaway installation on SQLite (a temporary folder); uploads go through
falcon's test client as the bench rows send them:

- ``pypi-one``: N wheels of one project (four platform tags per version, as
  the bulk-upload row's ``bench-many``) with the legacy upload form;
- ``pypi-many``: N one-wheel projects (the row's ``bench-proj-NNNN``);
- ``npm``: N publish documents (base64 tarball attached, as ``npm publish``
  sends them) of successive versions of one package.

For each slice of uploads it prints the process CPU per upload, the SQL
statements per upload and the wall time per upload, so growth with the
number already there shows. ``--profile`` adds a cProfile of the last slice.
Process CPU, not wall time: other work on the shared machine inflates it less
(the wall column also holds fsync waits, which CPU does not).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import falcon.testing
from sqlalchemy import event

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.settings import Settings
from artifortress.testing.databases import fresh_sqlite, migrated_sqlite_template
from artifortress.testing.helpers import Api, ApiFactory
from bench.clients import _multipart, publish_document, wheel_form
from bench.data import _WHEEL_TAGS, _npm_version, npm_tarball, wheel_bytes, wheel_name

TAGS = _WHEEL_TAGS


def _installation(folder: Path) -> tuple[Services, Api]:
    url = fresh_sqlite(migrated_sqlite_template(folder), folder)
    environ = {"ARTIFORTRESS_HOME": str(folder / "home"), "ARTIFORTRESS_DATABASE_URL": url}
    services = Services.build(Settings.load(environ=environ))
    client = falcon.testing.TestClient(create_app(services))
    admin = ApiFactory(client, services).as_user("admin", admin=True)
    for key, format in (("py", "pypi"), ("js", "npm")):
        assert admin.post("/v1/repos", {"key": key, "format": format}).status_code == 201
    return services, admin


def _wheels(folder: Path, many_projects: bool, count: int) -> Iterator[tuple[bytes, str]]:
    """Legacy upload forms, built ahead of the measurement by the caller."""
    for n in range(count):
        if many_projects:
            name, version, tag = f"bench-proj-{n:04d}", "1.0.0", "py3-none-any"
        else:
            v = n // len(TAGS)
            name, version, tag = "bench-many", f"1.{v // 100}.{v % 100}", TAGS[n % len(TAGS)]
        path = folder / wheel_name(name, version, tag)
        path.write_bytes(wheel_bytes(name, version, tag))
        yield _multipart(wheel_form(path), path.name, path.read_bytes())


def _npm_documents(count: int, registry: str, folder: Path) -> Iterator[tuple[bytes, str]]:
    for n in range(count):
        path = folder / f"bench-publish-{n}.tgz"
        path.write_bytes(npm_tarball("bench-publish", _npm_version(n)))
        name, body = publish_document(path, registry)
        yield body, name


#: What npm 11's ``publish`` asks for first (the versions, to refuse a reused number).
CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def _sender(admin: Api, kind: str, as_cli: bool) -> Callable[[tuple[bytes, str]], None]:
    if kind == "npm":

        def send(item: tuple[bytes, str]) -> None:
            body, name = item
            if as_cli:
                packument = admin.client.simulate_get(
                    f"/npm/js/{name}", headers=admin.headers({"Accept": CORGI})
                )
                assert packument.status_code in (200, 404), packument.text
            answer = admin.client.simulate_request(
                "PUT",
                f"/npm/js/{name}",
                headers=admin.headers({"Content-Type": "application/json"}),
                body=body,
            )
            assert answer.status_code == 201, answer.text

        return send

    def upload(item: tuple[bytes, str]) -> None:
        body, content_type = item
        answer = admin.client.simulate_request(
            "POST",
            "/pypi/py/legacy/",
            headers=admin.headers({"Content-Type": content_type}),
            body=body,
        )
        assert answer.status_code == 200, answer.text

    return upload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("pypi-one", "pypi-many", "npm"))
    parser.add_argument("-n", type=int, default=400, help="uploads (default 400)")
    parser.add_argument("--slice", type=int, default=100, help="uploads per reported line")
    parser.add_argument(
        "--as-cli", action="store_true", help="npm: GET the packument before each PUT, as npm does"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the last slice")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        services, admin = _installation(Path(folder))
        data = Path(folder) / "data"
        data.mkdir()
        if args.kind == "npm":
            items = list(_npm_documents(args.n, "http://localhost/npm/js/", data))
        else:
            items = list(_wheels(data, args.kind == "pypi-many", args.n))
        send = _sender(admin, args.kind, args.as_cli)
        statements = [0]

        def count(*_args: object) -> None:
            statements[0] += 1

        # Not WorkMeter: its SQLite progress handler costs CPU in every statement.
        event.listen(services.engine, "before_cursor_execute", count)
        print(f"{args.kind}: {args.n} uploads; per upload, by slice of {args.slice}")
        print("| uploads | CPU ms | statements | wall ms |\n|---|---:|---:|---:|")
        profiler = cProfile.Profile(time.process_time)
        for start in range(0, args.n, args.slice):
            chunk = items[start : start + args.slice]
            last = start + args.slice >= args.n
            if last and args.profile:
                profiler.enable()
            statements[0] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for item in chunk:
                send(item)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            profiler.disable()
            k = len(chunk)
            print(
                f"| {start + 1}-{start + k} | {cpu / k * 1e3:.2f} | "
                f"{statements[0] / k:.1f} | {wall / k * 1e3:.2f} |"
            )
        if args.profile:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
        services.close()


if __name__ == "__main__":
    main()
