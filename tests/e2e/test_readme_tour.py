"""Every shell command of README.md, run in order as one tour against the real server.

The ```sh blocks are one terminal session: each is sourced into the same bash,
under ``set -euo pipefail``, so a variable set in one (``TOKEN``, ``A``, ``H``)
serves the next and the first failing command fails the test, naming its block.
The server is :class:`ServerProcess`, ``artifortress serve`` as ``make serve``
runs it; its ``ARTIFORTRESS_HOME`` is exported for the CLI lines.

Rules, so that the README stays a user's text rather than a test script:

- ``make serve`` and ``make test`` lines are skipped: this test is the server
  ``make serve`` starts, and runs under ``make test``.
- ``127.0.0.1:8080`` becomes the test server's address, and pypi.org's index
  (``https://pypi.org/simple/``) a static PEP 503 tree on 127.0.0.1 holding the
  real ``requests`` and its dependencies (no internet is needed, and pip's own
  configuration of this machine is ignored, so what it installs came through
  the gateway); registry.npmjs.org likewise becomes static packuments and
  tarballs on 127.0.0.1 holding the real tree of ``express`` 4, and
  releases.hashicorp.com one file on 127.0.0.1 for the generic proxy.
- ``curl`` fails on an HTTP error status (``--fail-with-body``), except where the
  line prints the status itself (``-w``): a 404 from a repository the tour
  never created is a broken README even though curl exits 0. A status a block
  prints must be the one its line's comment promises (``... # 403``).
- The placeholders are provided for real, in a fresh working folder: ``dist/*``
  is a wheel and an sdist of a project named ``yourpackage``, ``build/app.tar.gz``
  a small tarball, ``build/image`` an OCI image layout (tag ``1.0``),
  ``.venv/bin/artifortress`` the installed command, and the
  ``ID`` of a quarantined version is one the test quarantined beforehand. Any
  other upper-case path segment (``/NAME/``) left in a command is a placeholder
  the test does not know, and fails it.
- ``pip`` installs into a target folder and ``uv`` into a throwaway virtual
  environment, never into the environment running the tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess
from plugins.npm.tests.npm_upstream import NpmTree, express_tree
from plugins.oci.tests.oci_images import layout_digest, write_layout
from plugins.pypi.tests.pypi_upstream import PypiTree, real_distributions
from tests.support.upstream import Upstream

pytestmark = [pytest.mark.e2e]

README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT = 10
PYPI = "https://pypi.org/simple/"
NPMJS = "https://registry.npmjs.org/"
HASHICORP = "https://releases.hashicorp.com/"
#: The file the generic proxy step downloads, as releases.hashicorp.com serves it.
TERRAFORM_SUMS = "terraform/1.6.6/terraform_1.6.6_SHA256SUMS"

_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SKIPPED_LINE = re.compile(r"^\s*make (serve|test)\b")
_COMMENT = re.compile(r"(^|\s)#\s.*$")
_UNKNOWN_PLACEHOLDER = re.compile(r"/([A-Z][A-Z0-9_]*)(?=[/\s'\"]|$)")

#: Starts each block's output, so a failure shows only its own block's.
_BLOCK_OUTPUT = "--- output of README block "

#: A status code a README comment promises (``# 401``), and one curl printed with -w.
_PROMISED_STATUS = re.compile(r"#\s*(\d{3})\s*$", re.MULTILINE)
_PRINTED_STATUS = re.compile(r"^(\d{3})$", re.MULTILINE)

#: Fails on an HTTP error status unless the command prints the status itself.
_CURL_FAILS_ON_ERRORS = """
curl() {
  case " $* " in
    *" -w "*|*" --write-out "*) echo; command curl "$@" ;;  # the status on a line of its own
    *) command curl --fail-with-body "$@" ;;
  esac
}
"""


def readme_blocks(text: str) -> list[str]:
    """The fenced ```sh blocks of *text*, in order, without the skipped lines."""
    return [
        "".join(line for line in block.splitlines(keepends=True) if not _SKIPPED_LINE.match(line))
        for block in _SH_BLOCK.findall(text)
    ]


def provide(
    block: str, port: int, pypi: str = PYPI, npmjs: str = NPMJS, files: str = HASHICORP
) -> str:
    """*block* with the test's address, registries and quarantined ID for the README's."""
    block = block.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    block = block.replace(PYPI, pypi).replace(NPMJS, npmjs).replace(HASHICORP, files)
    return block.replace("/quarantine/ID/", "/quarantine/$QUARANTINED_ID/")


def unknown_placeholders(block: str) -> list[str]:
    """Upper-case path segments (``/NAME/``) outside comments: nothing the test provides."""
    found: list[str] = []
    for line in block.splitlines():
        found += _UNKNOWN_PLACEHOLDER.findall(_COMMENT.sub("", line))
    return found


def tour_script(blocks: list[str], folder: Path) -> Path:
    """A bash script sourcing each block in turn; it writes each finished block's number."""
    lines = ["set -euo pipefail", _CURL_FAILS_ON_ERRORS]
    for number, block in enumerate(blocks, start=1):
        path = folder / f"block-{number}.sh"
        path.write_text(block)
        marker = f"{_BLOCK_OUTPUT}{number}"
        lines += [f"echo {marker}; echo {marker} >&2", f"source {path}"]
        lines += [f"echo {number} >> {folder / 'done'}"]
    script = folder / "tour.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def _last_block(output: str) -> str:
    """What the last block started wrote (the end of it, when it wrote a lot)."""
    return output.rpartition(_BLOCK_OUTPUT)[2].partition("\n")[2][-3000:]


def run_tour(blocks: list[str], folder: Path, cwd: Path, environ: dict[str, str]) -> None:
    """Run *blocks* as one session in *cwd*; fail naming the first block that failed."""
    script = tour_script(blocks, folder)
    done = subprocess.run(
        ["bash", str(script)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        errors="replace",  # a range of a tarball goes to stdout
        timeout=180,
        check=False,
    )
    finished = (folder / "done").read_text().split() if (folder / "done").exists() else []
    if done.returncode != 0:
        failed = len(finished) + 1
        raise AssertionError(
            f"README block {failed} of {len(blocks)} failed (exit {done.returncode}):\n"
            f"{blocks[failed - 1]}\n--- its stdout\n{_last_block(done.stdout)}\n"
            f"--- its stderr\n{_last_block(done.stderr)}"
        )
    assert len(finished) == len(blocks), done.stdout + done.stderr
    for number, block in enumerate(blocks, start=1):
        promised = _PROMISED_STATUS.findall(block)
        printed = _PRINTED_STATUS.findall(_block_output(done.stdout, number))
        assert printed == promised, f"README block {number} printed {printed}:\n{block}"


def _block_output(output: str, number: int) -> str:
    """What block *number* wrote to *output*."""
    after = output.partition(f"{_BLOCK_OUTPUT}{number}\n")[2]
    return after.partition(f"{_BLOCK_OUTPUT}{number + 1}\n")[0]


# -- the placeholders, for real ------------------------------------------------------------------


def build_yourpackage(root: Path) -> None:
    """A wheel and an sdist of ``yourpackage`` 1.0 in ``root/dist``."""
    source = root / "yourpackage-src"
    (source / "yourpackage").mkdir(parents=True)
    (source / "yourpackage" / "__init__.py").write_text("GREETING = 'hello'\n")
    (source / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "yourpackage"
        version = "1.0"
        license = {text = "MIT"}
        """)
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"), source],
        check=True,
        capture_output=True,
    )


def build_app_tarball(root: Path) -> None:
    """``build/app.tar.gz``: a real gzip tarball of one file."""
    (root / "build").mkdir()
    payload = root / "app.txt"
    payload.write_text("app 1.4.2\n" * 200)
    with tarfile.open(root / "build" / "app.tar.gz", "w:gz") as tar:
        tar.add(payload, arcname="app/app.txt")
    payload.unlink()


def quarantine_one_version(base_url: str, token: str) -> int:
    """Quarantine a near-name of an existing package in a repository of the test's own."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def ok(answer: requests.Response) -> requests.Response:
        assert answer.status_code < 300, answer.text
        return answer

    ok(session.post(f"{base_url}/v1/repos", json={"key": "held", "format": "generic"}))
    ok(session.put(f"{base_url}/generic/held/left-pad-tool/1.0/a.txt", data=b"a"))
    ok(session.put(f"{base_url}/v1/repos/held/policy", json={"typosquat": True}))
    ok(session.put(f"{base_url}/generic/held/leftpad-tool/1.0/a.txt", data=b"b"))
    held = ok(session.get(f"{base_url}/v1/quarantine")).json()
    ids: list[int] = [entry["id"] for entry in held["quarantine"]]
    assert len(ids) == 1, held
    return ids[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("readme") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def pypi_org() -> Iterator[PypiTree]:
    """pypi.org for the tour: ``requests`` and its dependencies on 127.0.0.1."""
    with Upstream().running() as upstream:
        tree = PypiTree(upstream)
        for path in real_distributions():
            tree.add(path)
        yield tree


@pytest.fixture(scope="module")
def npmjs() -> Iterator[NpmTree]:
    """registry.npmjs.org for the tour: ``express`` 4 and its dependencies on 127.0.0.1."""
    with Upstream().running() as upstream:
        tree = NpmTree(upstream)
        for path in express_tree():
            tree.add(path)
        yield tree


@pytest.fixture(scope="module")
def hashicorp() -> Iterator[Upstream]:
    """releases.hashicorp.com for the tour: one file under its base URL."""
    with Upstream().running() as upstream:
        upstream.serve("/" + TERRAFORM_SUMS, b"0123abcd  terraform_1.6.6_linux_amd64.zip\n")
        yield upstream


@pytest.fixture
def terminal(tmp_path: Path, server: ServerProcess) -> tuple[Path, dict[str, str]]:
    """A working folder with the README's placeholders, and the environment of its shell."""
    work = tmp_path / "work"
    (work / "home").mkdir(parents=True)
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    build_yourpackage(work)
    build_app_tarball(work)
    write_layout(work / "build" / "image", "1.0")
    uv_env = tmp_path / "uv-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", uv_env], check=True)
    token = server.cli("admin", "create-token", "--user", "setup", "--admin").stdout
    environ = {
        **{key: value for key, value in server.environ.items() if not key.startswith("PIP_")},
        "PIP_CONFIG_FILE": os.devnull,  # no find-links or extra index of this machine
        "HOME": str(work / "home"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "VIRTUAL_ENV": str(uv_env),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "PIP_TARGET": str(tmp_path / "pip-site"),
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "TWINE_NON_INTERACTIVE": "1",
        "npm_config_update_notifier": "false",
        "QUARANTINED_ID": str(quarantine_one_version(server.base_url, token.split()[-1])),
    }
    return work, environ


def test_every_readme_command_runs(
    server: ServerProcess,
    terminal: tuple[Path, dict[str, str]],
    pypi_org: PypiTree,
    npmjs: NpmTree,
    hashicorp: Upstream,
    tmp_path: Path,
) -> None:
    work, environ = terminal
    blocks = [
        provide(block, server.port, pypi_org.url, npmjs.url, hashicorp.url)
        for block in readme_blocks(README.read_text())
    ]
    unknown = {placeholder for block in blocks for placeholder in unknown_placeholders(block)}
    assert not unknown, f"README commands use placeholders this test does not provide: {unknown}"
    run_tour(blocks, tmp_path, work, environ)
    # The tour did real work: yourpackage went up and came back through pip and uv.
    assert (tmp_path / "pip-site" / "yourpackage" / "__init__.py").exists()
    assert list((tmp_path / "uv-env").glob("lib/python*/site-packages/yourpackage/__init__.py"))
    assert (work / "app.tar.gz").read_bytes() == (work / "build" / "app.tar.gz").read_bytes()
    # requests came from "pypi.org" through the virtual, fetched once.
    assert (tmp_path / "pip-site" / "requests" / "__init__.py").exists()
    assert all(pypi_org.hits(path.name) == 1 for path in real_distributions())
    # express came from "registry.npmjs.org" through the npm virtual, each tarball once.
    assert (work / "node_modules" / "express" / "package.json").exists()
    assert all(npmjs.upstream.hits[path] == 1 for path in npmjs.tarballs)
    # The image went up with skopeo and came back the same (the same manifest digest).
    assert layout_digest(work / "pulled") == layout_digest(work / "build" / "image")
    # The generic file came from "releases.hashicorp.com" through the generic virtual, once.
    sums = work / TERRAFORM_SUMS.rsplit("/", 1)[-1]
    assert sums.read_bytes() == hashicorp.routes["/" + TERRAFORM_SUMS].body
    assert hashicorp.hits["/" + TERRAFORM_SUMS] == 1


# -- the runner itself ---------------------------------------------------------------------------


def test_the_blocks_are_the_readmes_sh_blocks_minus_make() -> None:
    text = "```sh\nmake serve  # x\nmake test\nA=1\n```\n```ini\nb=2\n```\n```sh\necho $A\n```\n"
    assert readme_blocks(text) == ["A=1\n", "echo $A\n"]


def test_an_unknown_placeholder_is_reported_outside_comments_only() -> None:
    block = 'curl -sH "$H" $A/pypi/py/pypi/NAME/json  # DELETE /v1/tokens/ID revokes one\n'
    assert unknown_placeholders(block) == ["NAME"]
    assert unknown_placeholders(provide("curl $A/v1/quarantine/ID/release\n", 1)) == []


def test_a_failing_command_fails_the_tour_naming_its_block(tmp_path: Path) -> None:
    blocks = ["X=1\n", "true\nfalse\necho never\n", "echo $X\n"]
    with pytest.raises(AssertionError, match="README block 2 of 3 failed"):
        run_tour(blocks, tmp_path, tmp_path, {"PATH": os.environ["PATH"]})


def test_an_unset_variable_fails_the_tour(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="README block 1 of 1 failed"):
        run_tour(["echo $UNSET_BY_ANYONE\n"], tmp_path, tmp_path, {"PATH": os.environ["PATH"]})


def test_a_status_other_than_the_promised_one_fails_the_tour(tmp_path: Path) -> None:
    fake_curl = "echo; echo 200  # as curl -w '%{http_code}\\n' prints it\n"
    blocks = [f"{fake_curl}echo 403  # 403\n"]
    with pytest.raises(AssertionError, match=r"README block 1 printed \['200', '403'\]"):
        run_tour(blocks, tmp_path, tmp_path, {"PATH": os.environ["PATH"]})
