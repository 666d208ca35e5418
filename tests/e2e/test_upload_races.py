"""Identical uploads racing each other: every format answers them as it answers a retry.

A CI farm retries and fans out: the same bytes may reach one path from many
clients at the same moment. Whoever loses the race for the version must get
the answer a sequential duplicate gets (200 for generic and PyPI, npm's 403,
the Helm example's 409), and different bytes racing still have exactly one
winner. Real concurrent HTTP against ``artifortress serve``, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Any

import pytest
import requests
from urllib3 import encode_multipart_formdata

from artifortress.testing.databases import postgres_database
from artifortress.testing.server import ServerProcess, clean_environ, run_cli
from plugins.npm.tests.test_npm_http import body as npm_body

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RACERS = 16
ROUNDS = 3
TIMEOUT = 60


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"races-{request.param}") / "home"
    environ = {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "8"}
    with ExitStack() as stack:  # the server stops before its database is dropped
        if request.param == "postgresql":
            environ["ARTIFORTRESS_DATABASE_URL"] = stack.enter_context(postgres_database("af_race"))
            run_cli(["db", "upgrade"], clean_environ({"ARTIFORTRESS_HOME": str(home), **environ}))
        running = stack.enter_context(ServerProcess(home, environ))
        yield running
        running.stop()
        assert "Traceback" not in running.stderr, running.output


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    done = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = done.stdout.strip().splitlines()[-1]
    for key, fmt in (("files", "generic"), ("py", "pypi"), ("js", "npm"), ("charts", "helm")):
        created = call(server, token=secret, method="POST", path="/v1/repos",
                       json={"key": key, "format": fmt})  # fmt: skip
        assert created.status_code == 201, created.text
    return secret


def call(
    server: ServerProcess, token: str, method: str, path: str, **kwargs: Any
) -> requests.Response:
    """One request on its own connection, as separate CI jobs send them."""
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(
        method, server.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs
    )


def race(send: Sequence[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Send every request at the same moment, one thread each."""
    barrier = threading.Barrier(len(send))

    def run(one: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return one()

    with ThreadPoolExecutor(len(send)) as pool:
        return list(pool.map(run, send))


def statuses(answers: Sequence[requests.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def npm_errors(answers: Sequence[requests.Response]) -> set[tuple[int, str]]:
    return {(answer.status_code, answer.json()["error"]) for answer in answers}


# -- generic ----------------------------------------------------------------------------------


def test_identical_generic_puts_all_succeed(server: ServerProcess, token: str) -> None:
    for round_ in range(ROUNDS):
        data = os.urandom(64 * 1024)
        path = f"/generic/files/same/{round_}.0/same.bin"
        # With and without a declared checksum: the server checks early only with one.
        headers = {"X-Checksum-Sha256": hashlib.sha256(data).hexdigest()} if round_ % 2 else {}

        def put(
            path: str = path, data: bytes = data, headers: dict[str, str] = headers
        ) -> requests.Response:
            return call(server, token, "PUT", path, data=data, headers=headers)

        answers = race([put] * RACERS)
        assert statuses(answers) == {201: 1, 200: RACERS - 1}, [a.text for a in answers]
        assert call(server, token, "GET", path).content == data


def test_different_generic_bytes_have_one_winner(server: ServerProcess, token: str) -> None:
    bodies = [os.urandom(4096) for _ in range(RACERS)]
    path = "/generic/files/other/1.0/other.bin"
    answers = race(
        [lambda body=body: call(server, token, "PUT", path, data=body) for body in bodies]
    )
    assert statuses(answers) == {201: 1, 409: RACERS - 1}, [a.text for a in answers]
    winner = next(body for body, a in zip(bodies, answers, strict=True) if a.status_code == 201)
    assert call(server, token, "GET", path).content == winner


# -- PyPI -------------------------------------------------------------------------------------


def wheel(version: str, salt: str = "") -> bytes:
    dist_info = f"race_demo-{version}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("race_demo/__init__.py", f"SALT = {salt!r}\n")
        archive.writestr(
            f"{dist_info}/METADATA",
            f"Metadata-Version: 2.1\nName: race-demo\nVersion: {version}\n",
        )
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    return buffer.getvalue()


def sdist(version: str) -> bytes:
    pkg_info = f"Metadata-Version: 2.1\nName: race-demo\nVersion: {version}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"race_demo-{version}/PKG-INFO")
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
    return buffer.getvalue()


def twine_upload(
    server: ServerProcess, token: str, filename: str, data: bytes
) -> requests.Response:
    """The legacy upload exactly as twine sends it."""
    wheel_file = filename.endswith(".whl")
    body, content_type = encode_multipart_formdata(
        {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": "race-demo",
            "version": filename.split("-")[1].removesuffix(".tar.gz"),
            "filetype": "bdist_wheel" if wheel_file else "sdist",
            "pyversion": "py3" if wheel_file else "source",
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "content": (filename, data, "application/octet-stream"),
        }
    )
    return call(server, token, "POST", "/pypi/py/legacy/", data=body,
                headers={"Content-Type": content_type})  # fmt: skip


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_identical_pypi_uploads_all_succeed(server: ServerProcess, token: str, kind: str) -> None:
    for round_ in range(ROUNDS):
        version = f"{round_}.{int(kind == 'sdist')}"  # a new release per round
        if kind == "wheel":
            filename, data = f"race_demo-{version}-py3-none-any.whl", wheel(version)
        else:
            filename, data = f"race_demo-{version}.tar.gz", sdist(version)
        answers = race([partial(twine_upload, server, token, filename, data)] * RACERS)
        assert statuses(answers) == {200: RACERS}, {(a.status_code, a.reason) for a in answers}


def test_different_pypi_bytes_have_one_winner(server: ServerProcess, token: str) -> None:
    filename = "race_demo-9.0-py3-none-any.whl"
    bodies = [wheel("9.0", salt=str(number)) for number in range(RACERS)]
    answers = race(
        [lambda body=body: twine_upload(server, token, filename, body) for body in bodies]
    )
    assert statuses(answers) == {200: 1, 409: RACERS - 1}
    assert {a.reason for a in answers if a.status_code == 409} == {
        f"File already exists: {filename} (with other content)"
    }


# -- npm --------------------------------------------------------------------------------------


def npm_publish(server: ServerProcess, token: str, version: str, tgz: bytes) -> requests.Response:
    """The document ``npm publish`` sends."""
    name = "race-demo"
    return call(server, token, "PUT", f"/npm/js/{name}", json=npm_body(name, version, tgz))


def npm_tarball(version: str) -> bytes:
    manifest = json.dumps({"name": "race-demo", "version": version}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    return buffer.getvalue()


def test_npm_duplicates_get_the_same_answer_concurrent_or_not(
    server: ServerProcess, token: str
) -> None:
    """npm never publishes a version number twice: 403, however the duplicate arrives."""
    for round_ in range(ROUNDS):
        version = f"{round_}.0.0"
        tgz = npm_tarball(version)
        answers = race([partial(npm_publish, server, token, version, tgz)] * RACERS)
        assert statuses(answers) == {201: 1, 403: RACERS - 1}, [a.text for a in answers]
        later = npm_publish(server, token, version, tgz)
        assert later.status_code == 403
        refused = {(403, f"cannot publish over the previously published versions: {version}.")}
        assert npm_errors([a for a in answers if a.status_code != 201]) == refused
        assert npm_errors([later]) == refused


# -- the Helm example -------------------------------------------------------------------------


def chart(version: str) -> bytes:
    data = f"apiVersion: v2\nname: race\nversion: {version}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("race/Chart.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_helm_duplicates_get_the_same_answer_concurrent_or_not(
    server: ServerProcess, token: str
) -> None:
    """ChartMuseum's API refuses an existing chart version: 409, however it arrives."""
    data = chart("1.0.0")
    answers = race(
        [lambda: call(server, token, "POST", "/helm/charts/api/charts", data=data)] * RACERS
    )
    assert statuses(answers) == {201: 1, 409: RACERS - 1}, [a.text for a in answers]
    later = call(server, token, "POST", "/helm/charts/api/charts", data=data)
    assert later.status_code == 409
