"""``artifortress serve`` on the embedded default is the whole product: it runs the event worker.

The server is started exactly as ``make serve`` starts it; no test here starts
an ``artifortress worker`` of its own.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess, free_port, run_cli

pytestmark = [pytest.mark.e2e]

#: What the README promises: a publish is searchable within a second or two.
SEARCHABLE_WITHIN = 3.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_THREADS": "4"}
    with ServerProcess(tmp_path / "home", environ) as running:
        yield running


def admin_headers(server: ServerProcess) -> dict[str, str]:
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    return {"Authorization": f"Bearer {token}"}


def publish(server: ServerProcess, headers: dict[str, str], name: str) -> float:
    """PUT one generic file as version 1.0 of *name*; returns when the publish answered."""
    body = f"{name} bytes".encode()
    answer = requests.put(
        f"{server.base_url}/generic/files/{name}/1.0/{name}.txt",
        data=body,
        headers={**headers, "X-Checksum-Sha256": hashlib.sha256(body).hexdigest()},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return time.monotonic()


def seconds_until_found(server: ServerProcess, headers: dict[str, str], name: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 30:
        found = requests.get(f"{server.base_url}/v1/search?q={name}", headers=headers, timeout=10)
        assert found.status_code == 200, found.text
        if [hit["name"] for hit in found.json()["results"]] == [name]:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{name} never became searchable:\n{server.output}")


def one_event_worker(server: ServerProcess) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = server.event_workers()
        if pids:
            (pid,) = pids
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no event worker runs:\n{server.output}")


def test_a_publish_is_searchable_at_once_and_the_worker_is_supervised(server):
    headers = admin_headers(server)
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json={"key": "files", "format": "generic"},
        headers=headers,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    first = one_event_worker(server)
    publish(server, headers, "zebrawarm")
    seconds_until_found(server, headers, "zebrawarm")  # the worker has started consuming
    publish(server, headers, "zebrafirst")
    assert seconds_until_found(server, headers, "zebrafirst") < SEARCHABLE_WITHIN

    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (restarted := server.event_workers()) in ([], [first]):
        assert time.monotonic() < deadline, f"the event worker was not restarted:\n{server.output}"
        time.sleep(0.05)
    assert len(restarted) == 1  # never two on one SQLite database
    publish(server, headers, "zebrasecond")
    seconds_until_found(server, headers, "zebrasecond")  # while the new worker starts
    assert "was killed by SIGKILL" in server.stderr

    # The tour's `worker --drain` still works: it waits for the embedded worker.
    drained = server.cli("worker", "--drain")
    assert "nothing pending" in drained.stdout

    assert server.stop() == 0
    for pid in (first, *restarted):
        assert not Path(f"/proc/{pid}").exists(), f"event worker {pid} outlived the server"


def test_the_banner_tells_a_second_terminal_what_it_needs(server):
    assert server.process is not None
    lines = server.stdout.splitlines()
    serving = next(n for n, line in enumerate(lines) if "serving on" in line)
    assert "with its event worker" in lines[serving]
    command = lines[serving + 2].strip()
    assert command.startswith(f"ARTIFORTRESS_HOME={server.home} "), server.stdout
    # The very line, run as printed (an environment without ARTIFORTRESS_HOME otherwise).
    environ = {key: value for key, value in server.environ.items() if key != "ARTIFORTRESS_HOME"}
    assignment, program, *_ = command.split()
    environ[assignment.split("=", 1)[0]] = assignment.split("=", 1)[1]
    done = run_cli(["repo", "list"], environ)
    assert done.returncode == 0
    assert program.endswith("artifortress")


def test_no_embedded_worker_when_told_not_to(tmp_path):
    environ = {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_EMBEDDED_WORKER": "false"}
    with ServerProcess(tmp_path / "home", environ) as server:
        time.sleep(1.5)  # the master's loop would have started one by now
        assert server.event_workers() == []
        assert "no event worker: run `artifortress worker`" in server.stdout


def test_a_busy_port_is_one_clear_refusal(tmp_path):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        environ = {
            "ARTIFORTRESS_HOME": str(tmp_path / "home"),
            "ARTIFORTRESS_BIND": f"127.0.0.1:{port}",
            "PATH": os.environ["PATH"],
        }
        started = time.monotonic()
        done = run_cli(["serve"], environ, check=False, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 30  # gunicorn alone retried for 5 s, then exited
    refusal = [line for line in done.stderr.splitlines() if "is already in use" in line]
    assert refusal == [
        f"error: cannot listen on 127.0.0.1:{port}: the address is already in use (another "
        "Artifortress, or another program, listens there); stop it or choose another address "
        "with ARTIFORTRESS_BIND=HOST:PORT"
    ], done.stderr
    assert "Retrying" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stdout
