"""``artifortress plugins new``: a project that installs, passes its tests and the check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.venvs import child_environ, child_venv

CLI = [sys.executable, "-m", "artifortress.cli"]


def artifortress(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``artifortress plugins new notes`` run in an empty folder."""
    folder = tmp_path_factory.mktemp("scaffold")
    made = artifortress("plugins", "new", "notes", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder / "artifortress-notes"


def test_the_project_is_written(project: Path) -> None:
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert written == [
        "README.md",
        "artifortress_notes/__init__.py",
        "artifortress_notes/plugin.py",
        "artifortress_notes/py.typed",
        "pyproject.toml",
        "tests/test_notes.py",
    ]
    assert 'notes = "artifortress_notes.plugin"' in (project / "pyproject.toml").read_text()


def test_it_passes_the_import_check(project: Path) -> None:
    checked = artifortress("plugins", "check", str(project), cwd=project.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK:")


@pytest.mark.slow
def test_it_installs_and_passes_its_own_tests(project: Path, tmp_path: Path) -> None:
    environ = child_environ(child_venv(tmp_path / "venv"))

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            command, cwd=project, env=environ, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done

    run("pip", "install", "-q", "--no-deps", "-e", ".")
    listed = run("artifortress", "plugins").stdout
    assert "artifortress-notes (notes)" in listed
    tested = run("pytest", "-q", "-p", "no:cacheprovider").stdout
    assert " passed" in tested
    assert " failed" not in tested


@pytest.mark.slow
def test_it_passes_mypy_strict(project: Path, tmp_path: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "artifortress-notes").mkdir()
    (tmp_path / "artifortress-notes" / "mine.txt").write_text("keep")
    refused = artifortress("plugins", "new", "notes", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: artifortress-notes already exists; give a new folder with --dir\n"
    )
    assert [p.name for p in (tmp_path / "artifortress-notes").iterdir()] == ["mine.txt"]


def test_dir_names_the_folder(tmp_path: Path) -> None:
    made = artifortress("plugins", "new", "notes", "--dir", "here/plugin", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "here/plugin/artifortress_notes/plugin.py").is_file()


@pytest.mark.parametrize("name", ["Notes", "v1", "x", "my-format", "../up"])
def test_a_name_that_is_no_format_name_is_refused(name: str, tmp_path: Path) -> None:
    refused = artifortress("plugins", "new", name, cwd=tmp_path)
    assert refused.returncode == 1
    assert "is not a format name" in refused.stderr
    assert list(tmp_path.iterdir()) == []
