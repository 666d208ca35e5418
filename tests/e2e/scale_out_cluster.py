"""Two API nodes and two outbox workers on one PostgreSQL, one S3 endpoint and one Redis.

Each node is a separate ``artifortress serve`` (gunicorn with the production
``deploy/gunicorn.conf.py``) with its own home folder, port and processes;
they share nothing but the three backing services, as on separate hosts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import redis
import requests

from artifortress.testing.databases import postgres_database, service_missing
from artifortress.testing.server import (
    ServerProcess,
    artifortress_command,
    clean_environ,
    run_cli,
)
from tests.support.s3 import CREDENTIALS, MotoS3

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
#: Redis database of this test alone, emptied before and after: the cache keys of a
#: fresh PostgreSQL database (ids and revisions from 1) would match a previous run's.
REDIS_URL = "redis://127.0.0.1:6379/9"
TIMEOUT = 30


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class Node:
    """One API instance, seen from a client: plain HTTP on new connections, like curl."""

    name: str
    server: ServerProcess
    token: str = ""

    @property
    def url(self) -> str:
        return self.server.base_url

    def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        bearer = self.token if token is None else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return requests.request(method, self.url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = self.call(method, path, json=body, **kwargs)
        assert answer.status_code < 300, f"{self.name}: {method} {path}: {answer.text}"
        return answer.json()


@dataclasses.dataclass
class Cluster:
    a: Node
    b: Node
    environ: dict[str, str]
    workers: list[subprocess.Popen[bytes]]
    logs: Path

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """``artifortress ARGS`` with the nodes' settings (plus *extra* variables)."""
        return run_cli(args, {**self.environ, **extra}, timeout=120)

    def stop_workers(self) -> list[str]:
        """SIGTERM each worker (it finishes the event in hand); returns their summaries."""
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        outputs = []
        for number, process in enumerate(self.workers):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            outputs.append((self.logs / f"worker-{number}.out").read_text())
        self.workers = []
        return outputs


def redis_available() -> None:
    """Fail under CI (skip elsewhere) when the shared Redis does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis on 127.0.0.1:6379", exc)
    finally:
        client.close()


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def worker_command_exists(environ: dict[str, str]) -> bool:
    """Whether this version has ``artifortress worker`` (the outbox consumer)."""
    return run_cli(["worker", "--help"], environ, check=False).returncode == 0


def _spawn_worker(environ: dict[str, str], logs: Path, number: int) -> subprocess.Popen[bytes]:
    with (
        (logs / f"worker-{number}.out").open("wb") as out,
        (logs / f"worker-{number}.err").open("wb") as err,
    ):
        return subprocess.Popen(
            [artifortress_command(), "worker"], env=environ, stdout=out, stderr=err
        )


@contextmanager
def cluster(root: Path, moto: MotoS3) -> Iterator[Cluster]:
    """Start everything on fresh backing state; stop it all (by PID) and drop it afterwards."""
    redis_available()
    flush_redis()
    with postgres_database("af_scale") as database_url, ExitStack() as stack:
        stack.callback(flush_redis)  # callbacks run last-in first-out, the database after all
        environ = clean_environ(
            {
                **CREDENTIALS,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "ARTIFORTRESS_DATABASE_URL": database_url,
                "ARTIFORTRESS_BLOB_URL": f"s3://{moto.create_bucket()}/blobs",
                "ARTIFORTRESS_S3_ENDPOINT_URL": moto.endpoint_url,
                "ARTIFORTRESS_REDIS_URL": REDIS_URL,
                "ARTIFORTRESS_GUNICORN_CONF": str(DEPLOY_CONF),
                "ARTIFORTRESS_WORKERS": "2",
                "ARTIFORTRESS_THREADS": "4",
                "ARTIFORTRESS_WORKER_POLL_INTERVAL": "0.2s",
                "ARTIFORTRESS_WORKER_BATCH": "2",
                "ARTIFORTRESS_HOME": str(root / "cli-home"),
            }
        )
        run_cli(["db", "upgrade"], environ)
        nodes = []
        for name in ("a", "b"):
            server = ServerProcess(root / f"node-{name}", environ)
            stack.enter_context(server)
            nodes.append(Node(name.upper(), server))
        token = nodes[0].server.cli("admin", "create-token", "--user", "admin", "--admin")
        for node in nodes:
            node.token = token.stdout.strip().splitlines()[-1]
        logs = root / "logs"
        logs.mkdir()
        running = Cluster(nodes[0], nodes[1], environ, [], logs)
        stack.callback(running.stop_workers)  # before the servers stop
        if worker_command_exists(environ):
            running.workers = [_spawn_worker(environ, logs, number) for number in range(2)]
        yield running


def wait_until(what: str, check: Any, timeout: float = 20) -> float:
    """Poll *check* until it returns true; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")
