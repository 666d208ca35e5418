"""Scale-out: two API nodes and two workers share one PostgreSQL, one S3 and one Redis.

Nothing a node keeps in memory or on its disk may be needed by the other:
an upload session spans both, a publish on A is visible on B at once (no
stale page from B's caches), a race for one version has one winner, a token
revoked on A stops working on B within a second, and garbage collection run
beside live uploads keeps every published byte.  One test walks through it
all on one cluster (starting it costs more than the checks).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from plugins.npm.tests.test_npm_http import body as npm_body
from tests.e2e.scale_out_cluster import Cluster, Node, cluster, sha256, wait_until
from tests.support.s3 import MotoS3

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]

MiB = 1024 * 1024
PYPI_JSON = "application/vnd.pypi.simple.v1+json"
NPM_ABBREVIATED = "application/vnd.npm.install-v1+json"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, moto_s3: MotoS3) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("scale-out"), moto_s3) as running:
        for repo, fmt in (("files", "generic"), ("py", "pypi"), ("js", "npm")):
            running.a.json("POST", "/v1/repos", {"key": repo, "format": fmt})
        yield running


class Published:
    """Every artifact published during the test: where to fetch it, and its digest."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, path: str, digest: str) -> None:
        with self._lock:
            self.paths[path] = digest


def test_two_nodes_share_nothing_but_the_backing_services(nodes: Cluster) -> None:
    a, b = nodes.a, nodes.b
    published = Published()
    workers_ran = bool(nodes.workers)

    upload_session_spans_both_nodes(a, b, published)
    generic_publish_on_a_reads_on_b(a, b, published)
    pypi_publish_on_a_installs_from_b(a, b, published, nodes.logs)
    npm_publish_on_a_reads_on_b(a, b, published)
    one_winner_per_version_race(a, b, published)
    revoked_on_a_refused_on_b_within_a_second(a, b)
    gc_beside_live_uploads_keeps_every_published_byte(nodes, published)
    if workers_ran:
        workers_share_the_outbox(nodes)
    else:
        # `artifortress worker` does not exist in this version: nothing consumes events.
        assert "worker" not in nodes.cli("--help").stdout


# -- upload sessions ---------------------------------------------------------------------------


def upload_session_spans_both_nodes(a: Node, b: Node, published: Published) -> None:
    """Parts through both nodes, completed on either; then published and read on the other."""
    for number, (first, second) in enumerate(((a, b), (b, a)), start=1):
        data = os.urandom(5 * MiB) + os.urandom(MiB)
        digest = sha256(data)
        session = first.json(
            "POST", "/v1/repos/files/uploads", {"digest": digest, "size": len(data)}
        )
        base = f"/v1/repos/files/uploads/{session['id']}"
        for node, part, chunk in ((first, 1, data[: 5 * MiB]), (second, 2, data[5 * MiB :])):
            sent = node.call("PUT", f"{base}/parts/{part}", data=chunk)
            assert sent.status_code == 200, f"part {part} on {node.name}: {sent.text}"
        status = first.json("GET", base)
        assert [p["number"] for p in status["parts"]] == [1, 2]
        assert status["received"] == len(data)
        done = second.json("POST", f"{base}/complete")
        assert done["blob"]["digest"] == digest

        package = "/v1/repos/files/packages/versions/drafts"
        draft = first.json("POST", package, {"package": "big", "version": f"{number}.0"})
        second.json(
            "POST", f"{package}/{draft['id']}/artifacts", {"filename": "big.bin", "digest": digest}
        )
        first.json("POST", f"{package}/{draft['id']}/publish")
        path = f"/generic/files/big/{number}.0/big.bin"
        published.add(path, digest)
        for node in (a, b):
            assert_downloads(node, path, digest)


def assert_downloads(node: Node, path: str, digest: str) -> None:
    answer = node.call("GET", path)
    assert answer.status_code == 200, f"{node.name} GET {path}: {answer.status_code}"
    assert sha256(answer.content) == digest, f"{node.name} GET {path}: other bytes"


# -- publish on A, read on B -------------------------------------------------------------------


def generic_publish_on_a_reads_on_b(a: Node, b: Node, published: Published) -> None:
    for number in range(1, 6):
        data = os.urandom(2048)
        path = f"/generic/files/app/{number}.0/app.bin"
        digest = sha256(data)
        put = a.call("PUT", path, data=data, headers={"X-Checksum-Sha256": digest[7:]})
        assert put.status_code == 201, put.text
        published.add(path, digest)
        assert_downloads(b, path, digest)  # at once: no retry, no sleep
        listing = b.call("GET", "/generic/files/app/", headers={"Accept": "application/json"})
        assert f"{number}.0/" in listing.json()["entries"], listing.text


def wheel(version: str) -> bytes:
    """A minimal, installable wheel of ``scaleout-demo``."""
    dist_info = f"scaleout_demo-{version}.dist-info"
    files = {
        "scaleout_demo/__init__.py": f'VERSION = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: scaleout-demo\nVersion: {version}\n"
            "Summary: scale-out test package\n"
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{dist_info}/RECORD", record.getvalue())
    return buffer.getvalue()


def client_env() -> dict[str, str]:
    """pip and twine without the machine's own configuration or index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def twine_upload(node: Node, path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{node.url}/pypi/py/legacy/", "-u", "__token__", "-p", node.token,
         str(path)],
        capture_output=True, text=True, timeout=120, env=client_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def simple_page(node: Node) -> tuple[list[str], str]:
    answer = node.call("GET", "/pypi/py/simple/scaleout-demo/", headers={"Accept": PYPI_JSON})
    assert answer.status_code == 200, answer.text
    return answer.json()["versions"], answer.headers["ETag"]


def pypi_publish_on_a_installs_from_b(
    a: Node, b: Node, published: Published, scratch: Path
) -> None:
    """B has the page in its caches (memory and Redis) when A publishes the next version."""
    dists = {}
    for version in ("1.0", "1.1"):
        dists[version] = scratch / f"scaleout_demo-{version}-py3-none-any.whl"
        dists[version].write_bytes(wheel(version))
    twine_upload(a, dists["1.0"])
    before = [simple_page(b) for _ in range(4)]  # both of B's gunicorn workers, most likely
    assert {versions for versions, _etag in ((tuple(v), e) for v, e in before)} == {("1.0",)}
    assert len({etag for _versions, etag in before}) == 1  # one stored rendering, cached

    twine_upload(a, dists["1.1"])
    for _ in range(4):
        versions, etag = simple_page(b)
        assert versions == ["1.0", "1.1"], "B served a stale simple page"
        assert etag != before[0][1]

    target = scratch / "site"
    index = f"http://__token__:{b.token}@127.0.0.1:{b.server.port}/pypi/py/simple/"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--target",
         str(target), "--index-url", index, "scaleout-demo"],
        capture_output=True, text=True, timeout=120, env=client_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "scaleout_demo" / "__init__.py").read_text() == 'VERSION = "1.1"\n'
    for version, path in dists.items():
        url = f"/pypi/py/files/scaleout-demo/{version}/{path.name}"
        published.add(url, sha256(path.read_bytes()))


def npm_tarball(name: str, version: str, description: str = "") -> bytes:
    buffer = io.BytesIO()
    fields = {"name": name, "version": version, "description": description}
    manifest = json.dumps(fields).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    return buffer.getvalue()


def npm_publish(node: Node, name: str, version: str, tgz: bytes) -> requests.Response:
    return node.call("PUT", f"/npm/js/{name}", json=npm_body(name, version, tgz))


def packument(node: Node, accept: str) -> dict[str, Any]:
    answer = node.call("GET", "/npm/js/scaleout-demo", headers={"Accept": accept})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def npm_publish_on_a_reads_on_b(a: Node, b: Node, published: Published) -> None:
    for version in ("1.0.0", "1.1.0"):
        tgz = npm_tarball("scaleout-demo", version)
        answer = npm_publish(a, "scaleout-demo", version, tgz)
        assert answer.status_code == 201, answer.text
        for accept in ("application/json", NPM_ABBREVIATED) * 2:
            document = packument(b, accept)
            assert version in document["versions"], f"B served a stale packument ({accept})"
            assert document["dist-tags"]["latest"] == version
        path = f"/npm/js/scaleout-demo/-/scaleout-demo-{version}.tgz"
        published.add(path, sha256(tgz))
        assert_downloads(b, path, sha256(tgz))


# -- races -------------------------------------------------------------------------------------


def race(calls: dict[str, Callable[[], requests.Response]]) -> dict[str, requests.Response]:
    """Run the calls at the same moment, one thread each."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(run, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def one_winner_per_version_race(a: Node, b: Node, published: Published) -> None:
    """The same version with other bytes through both nodes at once: one wins, one is refused."""
    for round_ in range(6):
        path = f"/generic/files/race/{round_}.0/race.bin"
        bodies = {n.name: os.urandom(4096) for n in (a, b)}
        answers = race({n.name: partial(n.call, "PUT", path, data=bodies[n.name]) for n in (a, b)})
        statuses = {name: answer.status_code for name, answer in answers.items()}
        assert sorted(statuses.values()) == [201, 409], statuses
        winner = next(name for name, status in statuses.items() if status == 201)
        published.add(path, sha256(bodies[winner]))
        for node in (a, b):
            assert_downloads(node, path, sha256(bodies[winner]))

    # Two different tarballs of one npm version.
    tgzs = {a.name: npm_tarball("racer", "1.0.0"), b.name: npm_tarball("racer", "1.0.0", "b")}
    answers = race(
        {n.name: partial(npm_publish, n, "racer", "1.0.0", tgzs[n.name]) for n in (a, b)}
    )
    texts = {name: answer.text for name, answer in answers.items()}
    codes = sorted(answer.status_code for answer in answers.values())
    assert codes[0] == 201, texts
    assert codes[1] == 403, texts  # npm's "cannot publish over", as for any duplicate
    winner = next(name for name, answer in answers.items() if answer.status_code == 201)
    path = "/npm/js/racer/-/racer-1.0.0.tgz"
    published.add(path, sha256(tgzs[winner]))
    for node in (a, b):
        assert_downloads(node, path, sha256(tgzs[winner]))


# -- tokens ------------------------------------------------------------------------------------


def revoked_on_a_refused_on_b_within_a_second(a: Node, b: Node) -> None:
    """No process may accept a token more than a second after its revocation committed.

    Every request is judged by when it was sent: one sent later than a second
    after the revocation's answer (by then committed) must be refused, however
    slow the machine is to answer it.
    """
    a.json("POST", "/v1/users", {"name": "ci"})
    issued = a.json("POST", "/v1/tokens", {"name": "ci", "user": "ci", "ttl_days": 1})
    secret = issued["token"]
    for _ in range(8):  # every worker of both nodes has it cached now, most likely
        for node in (a, b):
            assert node.call("GET", "/v1/whoami", token=secret).status_code == 200

    revoked = a.call("DELETE", f"/v1/tokens/{issued['id']}")
    assert revoked.status_code in (200, 204), revoked.text
    committed = time.monotonic()
    seen: list[tuple[float, str, int]] = []  # (sent after the revocation, node, status)
    while time.monotonic() - committed < 1.6:
        for node in (b, a):
            sent = time.monotonic() - committed
            seen.append((sent, node.name, node.call("GET", "/v1/whoami", token=secret).status_code))
    late = [(round(t, 3), name) for t, name, status in seen if t > 1.0 and status != 401]
    assert not late, f"accepted after the revocation: {late}"
    assert sum(1 for t, _name, _status in seen if t > 1.0) >= 4, seen
    first_refused = min(t for t, name, status in seen if name == b.name and status == 401)
    print(f"revoked on A; B refused it from {first_refused * 1000:.0f} ms on; {len(seen)} probes")


# -- garbage collection ------------------------------------------------------------------------


def upload_only(node: Node, data: bytes) -> str:
    """An upload session completed but never published: garbage once the grace is over."""
    digest = sha256(data)
    session = node.json("POST", "/v1/repos/files/uploads", {"digest": digest, "size": len(data)})
    base = f"/v1/repos/files/uploads/{session['id']}"
    assert node.call("PUT", f"{base}/parts/1", data=data).status_code == 200
    node.json("POST", f"{base}/complete")
    return digest


def gc_beside_live_uploads_keeps_every_published_byte(nodes: Cluster, published: Published) -> None:
    """``artifortress gc`` runs on its own while B takes uploads, some of garbage's bytes.

    Half of the garbage is uploaded again through B, spread over the whole
    run, so some of it arrives before GC looks, some while it condemns and
    sweeps, some after: each must end published with its bytes, whichever
    way its race went.
    """
    a, b = nodes.a, nodes.b
    garbage = [os.urandom(1024) for _ in range(24)]
    with ThreadPoolExecutor(4) as pool:
        digests = list(pool.map(partial(upload_only, a), garbage))
    revived, orphans = garbage[:12], digests[12:]
    assert a.call("PUT", "/generic/files/gone/1.0/gone.bin", data=b"gone").status_code == 201
    assert a.call("DELETE", "/generic/files/gone/1.0/").status_code == 200
    time.sleep(1.2)  # all of it older than the grace below

    stop = threading.Event()
    failures: list[str] = []

    def keep_uploading() -> None:
        queue = list(revived)
        for number in range(300):
            if stop.is_set() and not queue:
                return
            data = queue.pop() if queue and number % 2 else os.urandom(1024)
            path = f"/generic/files/live/{number}.0/live.bin"
            for _attempt in range(2):
                answer = b.call(
                    "PUT", path, data=data, headers={"X-Checksum-Sha256": sha256(data)[7:]}
                )
                # Collected while its bytes came in again: the documented answer is to resend.
                if answer.status_code != 409 or "collected" not in answer.text:
                    break
            if answer.status_code != 201:
                failures.append(f"PUT {path}: {answer.status_code} {answer.text}")
                return
            published.add(path, sha256(data))
            time.sleep(0.1)  # spread over GC's start-up, its query and its sweep

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    try:
        gc = nodes.cli("gc", ARTIFORTRESS_GC_GRACE="1s", ARTIFORTRESS_TOMBSTONE_RETENTION="0s")
    finally:
        stop.set()
        uploader.join(timeout=60)
    assert not failures, failures
    reclaimed = re.search(r"reclaimed (\d+) blobs", gc.stdout)
    assert reclaimed is not None, gc.stdout
    # The twelve never uploaded again and the deleted version's file, at least.
    assert int(reclaimed.group(1)) >= len(orphans) + 1, gc.stdout
    print(f"gc: {gc.stdout.strip()}; {len(published.paths)} published artifacts")
    for digest in orphans:
        assert a.call("GET", f"/v1/repos/files/blobs/{digest}").status_code == 404
    assert b.call("GET", "/generic/files/gone/1.0/gone.bin").status_code == 404

    assert {sha256(data) for data in revived} <= set(published.paths.values())
    for path, digest in sorted(published.paths.items()):
        for node in (a, b):
            assert_downloads(node, path, digest)


# -- workers -----------------------------------------------------------------------------------


def workers_share_the_outbox(nodes: Cluster) -> None:
    """Two workers drain one outbox: every event handled once, the search index fed."""
    a, b = nodes.a, nodes.b

    def pending() -> list[Any]:
        return list(a.json("GET", "/v1/admin/outbox?state=pending&limit=100")["events"])

    wait_until("the workers drain the outbox", lambda: not pending(), timeout=30)
    assert a.json("GET", "/v1/admin/outbox?state=dead")["events"] == []
    hits = b.json("GET", "/v1/search?q=scaleout")["results"]
    assert {hit["format"] for hit in hits} >= {"pypi", "npm"}, hits

    done = 0
    before = ""
    while True:
        page = a.json("GET", f"/v1/admin/outbox?state=done&limit=100{before}")["events"]
        done += len(page)
        if len(page) < 100:
            break
        before = f"&before={page[-1]['id']}"
    summaries = nodes.stop_workers()
    handled = [int(m.group(1)) for s in summaries if (m := re.search(r"(\d+) events handled", s))]
    assert len(handled) == 2, summaries
    assert sum(handled) == done, f"{handled} handled, {done} events done"
    print(f"workers handled {handled} events ({done} done in the outbox)")
