"""Plugins' scratch files: a dead process's are reclaimed, a live one's and others' never."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from artifortress.blobs.heldfiles import reclaim_scratch, scratch_file

HOLDER = """
from artifortress.plugin.scratch import scratch_file
with scratch_file() as path:
    path.write_bytes(b"half an upload")
    print(path, flush=True)
    input()  # until told to stop, or killed
"""


@pytest.fixture
def tmpdir_of_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    return tmp_path


def holder() -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_killed_processes_scratch_file_is_reclaimed(tmpdir_of_processes: Path) -> None:
    unrelated = tmpdir_of_processes / "someone-elses.held"
    unrelated.write_bytes(b"not ours")
    dead, dead_file = holder()
    live, live_file = holder()
    try:
        dead.kill()
        dead.wait()
        with scratch_file() as own:
            assert dead_file.parent == own.parent == tmpdir_of_processes
            assert reclaim_scratch() == 1
            assert own.exists()
        assert not own.exists(), "removed after use"
        assert not dead_file.exists()
        assert live_file.read_bytes() == b"half an upload"
        assert unrelated.exists()
    finally:
        live.communicate("\n", timeout=10)
    assert not live_file.exists()
    assert reclaim_scratch() == 0
