"""A schema-driven fuzzer over ``/v1/``: the served ``/v1/openapi.json`` is its only input.

schemathesis (its command line, the interface it keeps stable) reads the
document that ``artifortress serve`` serves, generates valid and invalid
requests from it (examples, boundary values, random data, and chains of
operations linked by their parameters) and sends them as an administrator.
Every answer must carry a status the document lists, never a 5xx, match the
documented schema and content type, and a request the schema refuses must be
refused.  Path parameters draw half of the time from repositories, a user and
a published version created first, so the fuzzer gets past the 404 of an
unknown repository.  The seed is fixed: a failure reproduces.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = 30
#: Test cases per operation and phase: about 30 s on an idle machine, well under two
#: minutes on two busy cores.
MAX_EXAMPLES = 10
SEED = 20261207
FILE = b"fuzzed but real\n"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
#: Values that exist on the server; each such path parameter takes one half of the time.
KNOWN = {
    "repo": ["py", "js", "files"],
    "user": ["alice", "admin"],
    "package": ["app"],
    "version": ["1.0"],
    "label": ["stable", "latest"],
    "digest": ["sha256:" + hashlib.sha256(FILE).hexdigest()],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    with ServerProcess(home, {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "4"}) as running:
        yield running


@pytest.fixture(scope="module")
def admin_token(server: ServerProcess) -> str:
    done = server.cli("admin", "create-token", "--user", "admin", "--admin")
    return done.stdout.strip().splitlines()[-1]


def _call(server: ServerProcess, token: str, method: str, path: str, **kwargs: Any) -> None:
    answer = requests.request(
        method,
        server.base_url + path,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
        **kwargs,
    )
    assert answer.status_code < 300, (method, path, answer.status_code, answer.text)


@pytest.fixture(scope="module")
def known_values(server: ServerProcess, admin_token: str) -> dict[str, list[str]]:
    """Repositories of each format, a user, a published version with a label."""
    for key, fmt in (("py", "pypi"), ("js", "npm"), ("files", "generic")):
        _call(server, admin_token, "POST", "/v1/repos", json={"key": key, "format": fmt})
    _call(server, admin_token, "POST", "/v1/users", json={"name": "alice"})
    _call(server, admin_token, "PUT", "/generic/files/app/1.0/app.txt", data=FILE)
    label = {"version": "1.0"}
    _call(server, admin_token, "PUT", "/v1/repos/files/packages/app/labels/stable", json=label)
    return KNOWN


def write_config(folder: Path, known: dict[str, list[str]]) -> Path:
    """schemathesis.toml binding each known path parameter to its values, half of the time."""
    lines = ["[dictionaries]"]
    lines += [f"{name} = {{ values = {json.dumps(values)} }}" for name, values in known.items()]
    lines += ["", "[parameters]"]
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in known]
    path = folder / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fuzz(
    server: ServerProcess, token: str, folder: Path, known: dict[str, list[str]]
) -> subprocess.Popen[str]:
    """Start ``schemathesis run`` against the served document (in *folder*, its own cache)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(write_config(folder, known)),
        "run",
        f"{server.base_url}/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--request-timeout",
        str(TIMEOUT),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--output-truncate",
        "false",
    ]
    return subprocess.Popen(
        command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_every_answer_is_documented_and_no_5xx(
    server: ServerProcess,
    admin_token: str,
    known_values: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    run = fuzz(server, admin_token, tmp_path, known_values)
    try:
        output, _ = run.communicate(timeout=150)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, output
    assert "Traceback" not in server.stderr, server.stderr[-5000:]
