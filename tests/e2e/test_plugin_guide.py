"""Every code block of docs/plugins.md, run: the guide from ``plugins new`` to a published plugin.

The blocks are one session, in the guide's order, as a newcomer would type
and save them; what each kind of block means (its info string):

- ``sh``: shell commands, sourced into one bash under ``set -euo pipefail``
  (a ``cd`` or a variable carries over), in a folder of their own with a
  virtual environment of the developer's first on ``PATH``. ``A``, ``H``
  and ``TOKEN`` are set as in the README's tour, for a real server this
  test starts; ``127.0.0.1:8080`` becomes its address, and ``curl`` fails on
  an HTTP error status.
- ``sh host``: from this block on, the session is on a host running
  Artifortress: another fresh virtual environment and folder, without the
  developer's files or editable install.
- ``python file=PATH``: the session saves the block as *PATH* (relative to
  the session's folder at that point), replacing what the scaffold wrote.
- ``python append=PATH``: the session appends the block to *PATH*.
- ``python``: a snippet on its own, executed here in a fresh namespace.
- ``toml``: a part of the scaffold's ``pyproject.toml``: every value it sets
  must be the file's.

Any other block fails the test: the guide shows nothing that is not run.
Installs stay offline (see ``tests.support.venvs``) and never touch the
environment running the tests.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests

from artifortress.testing.server import ServerProcess
from tests.support.venvs import child_environ, child_venv

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

#: Starts each block's output, so a failure shows only its own block's.
_BLOCK_OUTPUT = "--- output of guide block "

_CURL_FAILS_ON_ERRORS = 'curl() { command curl --fail-with-body "$@"; }'


@dataclasses.dataclass(frozen=True)
class Block:
    number: int
    language: str
    options: dict[str, str]
    text: str

    @property
    def kind(self) -> str:
        """``sh``, ``sh host``, ``python file``, ``python append``, ``python`` or ``toml``."""
        return " ".join([self.language, *self.options])


KINDS = {"sh", "sh host", "python file", "python append", "python", "toml"}


def guide_blocks(text: str) -> list[Block]:
    """The fenced blocks of *text*, with their info strings parsed (``python file=a.py``)."""
    blocks = []
    for number, (info, body) in enumerate(_FENCE.findall(text), start=1):
        language, *words = info.split()
        options = dict(word.partition("=")[::2] for word in words)
        blocks.append(Block(number, language, options, body))
    return blocks


def session_script(blocks: list[Block], folder: Path, port: int) -> str:
    """One bash script running the session's blocks in order; each done block's number is noted."""
    lines = ["set -euo pipefail", _CURL_FAILS_ON_ERRORS]
    for block in blocks:
        saved = folder / f"block-{block.number}"
        saved.write_text(block.text.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
        marker = f"{_BLOCK_OUTPUT}{block.number}"
        lines.append(f"echo {marker}; echo {marker} >&2")
        lines += _step(block, saved)
        lines.append(f"echo {block.number} >> {folder / 'done'}")
    return "\n".join(lines) + "\n"


def _step(block: Block, saved: Path) -> list[str]:
    if block.kind == "sh host":
        return [
            'export PATH="$HOST_PATH" VIRTUAL_ENV="$HOST_VENV"',
            'cd "$HOST_HOME"',
            f"source {saved}",
        ]
    if block.kind == "sh":
        return [f"source {saved}"]
    target = block.options.get("file") or block.options["append"]
    write = ">" if "file" in block.options else ">>"
    return [f'mkdir -p "$(dirname {target})"', f"cat {saved} {write} {target}"]


def _block_output(output: str, number: int) -> str:
    after = output.rpartition(f"{_BLOCK_OUTPUT}{number}\n")[2]
    return after.partition(_BLOCK_OUTPUT)[0][-4000:]


def run_session(blocks: list[Block], folder: Path, environ: dict[str, str], port: int) -> None:
    """Run the session's *blocks*; fail naming the first that failed, with its output."""
    script = folder / "session.sh"
    script.write_text(session_script(blocks, folder, port))
    done = subprocess.run(
        ["bash", str(script)],
        cwd=environ["SESSION_HOME"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    finished = (folder / "done").read_text().split() if (folder / "done").exists() else []
    if done.returncode != 0:
        failed = next(b for b in blocks if str(b.number) not in finished)
        raise AssertionError(
            f"guide block {failed.number} ({failed.kind}) failed (exit {done.returncode}):\n"
            f"{failed.text}\n--- its stdout\n{_block_output(done.stdout, failed.number)}\n"
            f"--- its stderr\n{_block_output(done.stderr, failed.number)}"
        )
    assert len(finished) == len(blocks), done.stdout + done.stderr


def admin_token(server: ServerProcess) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    return created.stdout.strip().splitlines()[-1]


def is_part_of(part: dict[str, Any], whole: dict[str, Any]) -> bool:
    """Every key of *part* is in *whole* with the same value (tables compared key by key)."""
    for key, value in part.items():
        if isinstance(value, dict):
            if not isinstance(whole.get(key), dict) or not is_part_of(value, whole[key]):
                return False
        elif whole.get(key) != value:
            return False
    return True


def test_every_block_is_of_a_kind_this_test_runs() -> None:
    unknown = [(b.number, b.kind) for b in guide_blocks(GUIDE.read_text()) if b.kind not in KINDS]
    assert not unknown, f"blocks of docs/plugins.md that no test runs: {unknown}"


@pytest.mark.parametrize(
    "block",
    [b for b in guide_blocks(GUIDE.read_text()) if b.kind == "python"],
    ids=lambda b: f"block-{b.number}",
)
def test_snippet_runs(block: Block) -> None:
    exec(compile(block.text, f"docs/plugins.md block {block.number}", "exec"), {})


@pytest.mark.e2e
@pytest.mark.slow
def test_the_guide_from_plugins_new_to_a_published_plugin(tmp_path: Path) -> None:
    blocks = [b for b in guide_blocks(GUIDE.read_text()) if b.kind in KINDS - {"python", "toml"}]
    developer, host = tmp_path / "developer", tmp_path / "host"
    developer.mkdir()
    host.mkdir()
    environ = child_environ(child_venv(tmp_path / "developer-venv"))
    host_environ = child_environ(child_venv(tmp_path / "host-venv"))
    with ServerProcess(tmp_path / "server-home") as server:
        token = admin_token(server)
        environ.update(
            SESSION_HOME=str(developer),
            TOKEN=token,
            A=server.base_url,
            H=f"Authorization: Bearer {token}",
            HOST_PATH=host_environ["PATH"],
            HOST_VENV=host_environ["VIRTUAL_ENV"],
            HOST_HOME=str(host),
        )
        (tmp_path / "session").mkdir()
        run_session(blocks, tmp_path / "session", environ, server.port)
        uploaded = requests.get(
            f"{server.base_url}/pypi/plugins/simple/artifortress-notes/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert "artifortress_notes-0.1.0-py3-none-any.whl" in uploaded.text
    installed = subprocess.run(
        [
            str(tmp_path / "host-venv/bin/python"),
            "-c",
            "import artifortress_notes; print(artifortress_notes.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert installed.startswith(str(tmp_path / "host-venv")), (
        "installed from the index, not the source"
    )
    pyproject = tomllib.loads((developer / "artifortress-notes" / "pyproject.toml").read_text())
    for block in guide_blocks(GUIDE.read_text()):
        if block.kind == "toml":
            assert is_part_of(tomllib.loads(block.text), pyproject), block.text
