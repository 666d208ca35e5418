"""Throw-away virtual environments that see this test environment's packages.

A test that installs a plugin project (``pip install -e``) must never install
into the environment running the tests.  ``venv --system-site-packages`` would
not help here: the tests run in a virtual environment, whose packages are not
the system's.  The child instead gets a ``.pth`` file adding this
environment's site-packages after its own, so Artifortress, pytest, pip and
hatchling are importable there and what the child installs stays in it.
Installs run offline: no build isolation, and the default index is a closed
local port (an ``--index-url`` given on the command line still applies).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

#: Commands the child environment offers on its PATH, each run by its own python.
COMMANDS = {
    "pip": "pip",
    "pytest": "pytest",
    "twine": "twine",
    "artifortress": "artifortress.cli",
}


def child_venv(path: Path) -> Path:
    """A virtual environment at *path* over this one's packages; returns its ``bin`` folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    bin_dir = path / "bin"
    python = bin_dir / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "_parent_environment.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    for command, module in COMMANDS.items():
        script = bin_dir / command
        script.write_text(f'#!/bin/sh\nexec "{python}" -m {module} "$@"\n')
        script.chmod(0o755)
    return bin_dir


def child_environ(bin_dir: Path) -> dict[str, str]:
    """This process's environment with *bin_dir* first on PATH and pip kept offline.

    Nothing of the running pytest leaks into a child one (its plugins, options,
    xdist worker), and ``PYTHONPATH`` goes so that only what is installed counts.
    """
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PYTHON")) and key != "VIRTUAL_ENV"
    }
    environ.update(
        PATH=f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}",
        VIRTUAL_ENV=str(bin_dir.parent),
        PIP_INDEX_URL="http://127.0.0.1:9/simple/",  # the discard port: refused at once
        PIP_RETRIES="0",
        PIP_NO_BUILD_ISOLATION="0",  # pip's spelling of --no-build-isolation
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return environ
