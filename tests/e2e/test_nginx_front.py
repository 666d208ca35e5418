"""The shipped deploy/nginx.conf in front of ``artifortress serve`` with the hand-off on.

nginx sends pages and blobs after Artifortress authorized each request
(``X-Accel-Redirect``): the bytes, validators and headers clients see must be
Artifortress's, ranges and revalidation must work, the internal locations must
stay internal, and pip must install through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.test_pypi_upload_http import form
from tests.support.nginx import shipped_front

pytestmark = [pytest.mark.e2e]

WHEEL = "nginx_demo-1.0-py3-none-any.whl"
FILE = bytes(range(256)) * 400  # 100 KiB
TIMEOUT = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("front") / "home"
    with ServerProcess(home, {"ARTIFORTRESS_ACCEL_REDIRECT": "/_accel/"}) as running:
        yield running


@pytest.fixture(scope="module")
def front(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with shipped_front(server.home, server.port, tmp_path_factory.mktemp("nginx")) as url:
        yield url


@pytest.fixture(scope="module")
def token(server: ServerProcess, front: str) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = created.stdout.strip().splitlines()[-1]
    for key, kind in (("py", "pypi"), ("files", "generic")):
        made = requests.post(
            f"{front}/v1/repos",
            json={"key": key, "format": kind},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=TIMEOUT,
        )
        assert made.status_code == 201, made.text
    return secret


def get(url: str, token: str | None, **headers: str) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(url, headers=headers, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def stored_file(front: str, token: str) -> str:
    url = f"{front}/generic/files/tools/1.0/tool.bin"
    put = requests.put(
        url,
        data=FILE,
        headers={
            "Authorization": f"Bearer {token}",
            "X-Checksum-Sha256": hashlib.sha256(FILE).hexdigest(),
        },
        timeout=TIMEOUT,
    )
    assert put.status_code == 201, put.text
    return url


def test_a_blob_comes_from_nginx_with_artifortress_headers(stored_file: str, token: str) -> None:
    answer = get(stored_file, token)
    assert answer.status_code == 200
    assert answer.content == FILE
    sha = hashlib.sha256(FILE).hexdigest()
    assert answer.headers["ETag"] == f'"sha256:{sha}"'
    assert answer.headers["X-Checksum-Sha256"] == sha
    assert "tool.bin" in answer.headers["Content-Disposition"]
    assert "X-Accel-Redirect" not in answer.headers
    assert answer.headers["Server"].startswith("nginx")
    head = requests.head(stored_file, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.headers["Last-Modified"] == head.headers["Last-Modified"], "the app's date"


def test_ranges_and_revalidation_through_the_front(stored_file: str, token: str) -> None:
    ranged = get(stored_file, token, Range="bytes=1000-1999")
    assert ranged.status_code == 206
    assert ranged.content == FILE[1000:2000]
    etag = get(stored_file, token).headers["ETag"]
    assert get(stored_file, token, **{"If-None-Match": etag}).status_code == 304


def test_refusals_and_internal_locations(stored_file: str, front: str, token: str) -> None:
    assert get(stored_file, None).status_code == 401
    sha = hashlib.sha256(FILE).hexdigest()
    internal = f"{front}/_accel/blobs/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    assert get(internal, token).status_code == 404, "internal locations are not reachable"


@pytest.fixture(scope="module")
def wheel(front: str, token: str, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("wheel")
    metadata = metadata_text(name="nginx-demo", version="1.0").encode()
    data = make_wheel(folder, WHEEL, metadata, dist_info="nginx_demo-1.0.dist-info").read_bytes()
    body, content_type = form(data, WHEEL, name="nginx-demo", version="1.0")
    answer = requests.post(
        f"{front}/pypi/py/legacy/",
        data=body,
        headers={"Content-Type": content_type},
        auth=("__token__", token),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return data


def test_a_simple_page_comes_from_nginx_and_revalidates(
    front: str, token: str, wheel: bytes
) -> None:
    page = f"{front}/pypi/py/simple/nginx-demo/"
    answer = get(page, token, Accept="text/html")
    assert answer.status_code == 200
    assert WHEEL.encode() in answer.content
    content_type = answer.headers["Content-Type"]
    digest = hashlib.sha256(content_type.encode() + b"\0" + answer.content).hexdigest()[:32]
    assert answer.headers["ETag"] == f'"{digest}"', "nginx sent Artifortress's ETag"
    assert answer.headers["Vary"] == "Accept"
    changed = parsedate_to_datetime(answer.headers["Last-Modified"])
    assert get(page, token, **{"If-None-Match": answer.headers["ETag"]}).status_code == 304
    # HTTP dates are whole seconds and the change was within that second: only the
    # next second proves the client current (Artifortress decides, not nginx's mtime).
    later = format_datetime(changed + dt.timedelta(seconds=1), usegmt=True)
    assert get(page, token, **{"If-Modified-Since": later}).status_code == 304
    same = format_datetime(changed, usegmt=True)
    assert get(page, token, **{"If-Modified-Since": same}).status_code == 200


def test_pip_downloads_through_the_front(
    front: str, token: str, wheel: bytes, tmp_path: Path
) -> None:
    index = front.replace("http://", f"http://__token__:{token}@") + "/pypi/py/simple/"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            index,
            "--dest",
            str(tmp_path),
            "nginx-demo==1.0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / WHEEL).read_bytes() == wheel
