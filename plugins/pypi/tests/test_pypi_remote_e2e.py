"""pip and uv through a virtual repository of hosted + remote, against the real server.

The upstream is a static PEP 503 tree on 127.0.0.1 (``pypi_upstream.PypiTree``)
holding the real ``requests`` and its dependencies, downloaded once by pip into
a cache later sessions reuse. One index URL, the virtual's, serves a private
package and its public dependencies; what was fetched keeps installing when
the upstream is gone; a private name is never taken from upstream; a tampered
upstream file is refused; concurrent cold requests cause one upstream fetch.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.pypi_upstream import REQUESTS_SET, PypiTree, real_distributions
from tests.support.upstream import Upstream

pytestmark = [pytest.mark.e2e]

UV = str(Path(sys.executable).with_name("uv"))
TIMEOUT = 180


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.fixture(scope="module")
def tree(upstream: Upstream) -> PypiTree:
    tree = PypiTree(upstream)
    for path in real_distributions():
        tree.add(path)
    return tree


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    settings = {
        "ARTIFORTRESS_UPSTREAM_CONNECT_TIMEOUT": "2",
        "ARTIFORTRESS_UPSTREAM_READ_TIMEOUT": "10",
        "ARTIFORTRESS_UPSTREAM_RETRIES": "0",
    }
    home = tmp_path_factory.mktemp("pypi-remote") / "home"
    with ServerProcess(home, settings) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> requests.Session:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {created.stdout.strip().splitlines()[-1]}"
    return session


@pytest.fixture(scope="module")
def private_app(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A wheel and an sdist of ``private-app``, which depends on ``requests``."""
    root = tmp_path_factory.mktemp("private-app")
    (root / "private_app").mkdir()
    (root / "private_app" / "__init__.py").write_text("import requests\n")
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "private-app"
        version = "1.0"
        dependencies = ["requests>=2"]
        """)
    )
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(root)],
        check=True,
        capture_output=True,
    )
    return sorted(out.iterdir())


def create(api: requests.Session, server: ServerProcess, **repo: object) -> None:
    made = api.post(f"{server.base_url}/v1/repos", json={"format": "pypi", **repo}, timeout=10)
    assert made.status_code == 201, made.text


def twine(server: ServerProcess, api: requests.Session, repo: str, *files: Path) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "twine", "upload", "--non-interactive"),
            *(
                "--disable-progress-bar",
                "--repository-url",
                f"{server.base_url}/pypi/{repo}/legacy/",
            ),
            *("-u", "__token__", "-p", token, *map(str, files)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def index(server: ServerProcess, api: requests.Session, repo: str) -> str:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    return f"http://__token__:{token}@127.0.0.1:{server.port}/pypi/{repo}/simple/"


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "--disable-pip-version-check",
            "--retries",
            "0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def pip_install(index_url: str, target: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return pip(
        "install", "--no-cache-dir", "--target", str(target), "--index-url", index_url, *names
    )


def uv_install(index_url: str, target: Path, *names: str) -> subprocess.CompletedProcess[str]:
    command = [UV, "pip", "install", "--no-cache", "--python", sys.executable]
    return subprocess.run(
        [*command, "--target", str(target), "--index-url", index_url, *names],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def installed(target: Path) -> set[str]:
    """Normalized names of the distributions installed in *target*."""
    names = (
        p.name.removesuffix(".dist-info").rsplit("-", 1)[0] for p in target.glob("*.dist-info")
    )
    return {name.lower().replace("_", "-") for name in names}


def test_one_index_installs_private_and_public_also_with_the_upstream_gone(
    server, api, tree, private_app, tmp_path
):
    gone = Upstream()  # this test stops its upstream: the others keep theirs
    with gone.running():
        own = PypiTree(gone)
        for path in real_distributions():
            own.add(path)
        create(api, server, key="py", kind="hosted")
        create(api, server, key="gone-up", kind="remote", upstream={"url": own.url}, metadata_ttl=1)
        create(api, server, key="all", kind="virtual", members=["py", "gone-up"])
        twine(server, api, "all", *private_app)  # a virtual's uploads go to its hosted member
        url = index(server, api, "all")
        cold = pip_install(url, tmp_path / "pip-cold", "private-app")
        assert cold.returncode == 0, cold.stdout + cold.stderr
        assert installed(tmp_path / "pip-cold") == {"private-app", *REQUESTS_SET}
        by_uv = uv_install(url, tmp_path / "uv-warm", "private-app")
        assert by_uv.returncode == 0, by_uv.stdout + by_uv.stderr
        assert all(own.hits(p.name) == 1 for p in real_distributions())
        gone.stop()
        time.sleep(1.1)  # past the metadata TTL: pages are now served stale-if-error
        again = pip_install(url, tmp_path / "pip-after", "private-app")
        assert again.returncode == 0, again.stdout + again.stderr
        assert installed(tmp_path / "pip-after") == installed(tmp_path / "pip-cold")
        by_uv = uv_install(url, tmp_path / "uv-after", "private-app")
        assert by_uv.returncode == 0, by_uv.stdout + by_uv.stderr
        assert installed(tmp_path / "uv-after") == installed(tmp_path / "pip-cold")


def test_a_private_name_is_never_taken_from_upstream(server, api, tree, tmp_path):
    create(api, server, key="shadow-up", kind="remote", upstream={"url": tree.url})
    create(api, server, key="private")
    create(api, server, key="shadowed", kind="virtual", members=["private", "shadow-up"])
    mine = make_wheel(
        tmp_path,
        "idna-0.1-py3-none-any.whl",
        metadata_text("idna", "0.1").encode(),
        dist_info="idna-0.1.dist-info",
    )
    twine(server, api, "private", mine)
    done = pip(
        "download", "--no-cache-dir", "--no-deps", "-d", str(tmp_path / "got"),
        "--index-url", index(server, api, "shadowed"), "idna",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in (tmp_path / "got").iterdir()] == ["idna-0.1-py3-none-any.whl"]
    page = api.get(
        f"{server.base_url}/pypi/shadowed/simple/idna/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    ).json()
    assert page["versions"] == ["0.1"]
    assert [f["filename"] for f in page["files"]] == ["idna-0.1-py3-none-any.whl"]
    newer = pip(
        "download", "--no-cache-dir", "--no-deps", "-d", str(tmp_path / "newer"),
        "--index-url", index(server, api, "shadowed"), "idna>=3",
    )  # fmt: skip
    assert newer.returncode != 0  # upstream's idna 3.x is never offered


def test_a_tampered_upstream_file_is_refused_until_the_upstream_is_fixed(
    server, api, tree, tmp_path
):
    wheel = make_wheel(
        tmp_path,
        "tampered-1.0-py3-none-any.whl",
        metadata_text("tampered", "1.0").encode(),
        dist_info="tampered-1.0.dist-info",
    )
    tree.add(wheel)
    create(api, server, key="tamper-up", kind="remote", upstream={"url": tree.url})
    good = tree.tamper(wheel.name, b"not the wheel the page announced")
    args = ["download", "--no-cache-dir", "--no-deps", "--index-url"]
    args += [index(server, api, "tamper-up"), "tampered"]
    refused = pip(*args, "-d", str(tmp_path / "refused"))  # the streamed wheel ends short
    assert refused.returncode != 0
    assert not (tmp_path / "refused" / wheel.name).exists()
    assert f"{wheel.name} from upstream 127.0.0.1" in server.stderr  # one line, no traceback
    url = f"{server.base_url}/pypi/tamper-up/files/tampered/1.0/{wheel.name}"
    answer = api.get(url, headers={"Range": "bytes=0-"}, timeout=30)  # answered after the fetch
    assert answer.status_code == 502
    assert wheel.name in answer.text
    # pip read the (intact) PEP 658 metadata first; the wheel itself was not kept
    kept = api.get(
        f"{server.base_url}/v1/repos/tamper-up/packages/tampered/versions/1.0", timeout=10
    )
    assert wheel.name not in {a["filename"] for a in kept.json().get("artifacts", [])}
    tree.tamper(wheel.name, good)
    fixed = pip(*args, "-d", str(tmp_path / "fixed"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (tmp_path / "fixed" / wheel.name).read_bytes() == good


def test_twenty_cold_requests_cause_one_upstream_request_per_file(server, api, tree, tmp_path):
    wheel = make_wheel(
        tmp_path,
        "crowded-1.0-py3-none-any.whl",
        metadata_text("crowded", "1.0").encode(),
        dist_info="crowded-1.0.dist-info",
    )
    tree.add(wheel)
    tree.upstream.routes[f"/files/{wheel.name}"].delay = 0.5  # all ask while one fetches
    create(api, server, key="crowd-up", kind="remote", upstream={"url": tree.url})
    url = f"{server.base_url}/pypi/crowd-up/files/crowded/1.0/{wheel.name}"

    def get(_: int) -> bytes:
        answer = api.get(url, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.content

    with ThreadPoolExecutor(max_workers=20) as pool:
        bodies = list(pool.map(get, range(20)))
    assert {hashlib.sha256(b).hexdigest() for b in bodies} == {
        hashlib.sha256(wheel.read_bytes()).hexdigest()
    }
    assert tree.hits(wheel.name) == 1
    assert tree.upstream.hits["/simple/crowded/"] == 1
