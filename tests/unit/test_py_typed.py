"""A plugin outside this repository type-checks against the installed artifortress.

``artifortress/py.typed`` (PEP 561) is what lets ``mypy --strict`` read the
package's types; without it every ``@hookimpl`` and ``@requires`` is an untyped
decorator and ``artifortress.plugin`` an untyped import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/artifortress_*"))


@pytest.mark.slow
@pytest.mark.parametrize("package", EXAMPLES, ids=lambda package: package.parent.name)
def test_example_passes_mypy_strict_out_of_tree(package: Path, tmp_path: Path) -> None:
    # A copy outside the repository: mypy finds no project configuration and
    # resolves artifortress as an installed package, as a third party's would.
    copy = shutil.copytree(
        package.parent, tmp_path / "example", ignore=shutil.ignore_patterns("__pycache__", ".*")
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    command = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")]
    result = subprocess.run(
        [*command, package.name],
        cwd=copy,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_examples_are_found() -> None:
    assert {"artifortress_helm", "artifortress_goproxy"} <= {package.name for package in EXAMPLES}
