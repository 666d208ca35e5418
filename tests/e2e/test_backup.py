"""``artifortress backup``: an online copy of a serving, writing server, restored and served."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from artifortress.testing.server import ServerProcess, clean_environ, run_cli

pytestmark = [pytest.mark.e2e]

TIMEOUT = 30
UPLOADS = 60


def put(server: ServerProcess, token: str, n: int) -> tuple[str, bytes] | None:
    """Publish ``app/1.N/app-N.bin``; the path and bytes when it was published."""
    data = hashlib.sha256(str(n).encode()).digest() * 2000  # 64 KB, distinct per upload
    path = f"app/1.{n}/app-{n}.bin"
    answer = requests.put(
        f"{server.base_url}/generic/files/{path}",
        data=data,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return path, data


def test_backup_while_serving_and_writing_restores_a_serving_home(tmp_path: Path) -> None:
    environ = {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "4"}
    with ServerProcess(tmp_path / "home", environ) as server:
        token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
        created = requests.post(
            f"{server.base_url}/v1/repos",
            json={"key": "files", "format": "generic"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
        before = [put(server, token, n) for n in range(5)]
        half = threading.Event()
        with ThreadPoolExecutor(4) as pool:

            def upload(n: int) -> tuple[str, bytes] | None:
                if n >= UPLOADS // 3:
                    half.set()
                return put(server, token, n)

            during = pool.map(upload, range(5, UPLOADS))
            half.wait(TIMEOUT)
            done = server.cli("backup", str(tmp_path / "backup"), "--blobs")
            assert list(during)  # every upload in flight succeeded
    assert "integrity ok" in done.stdout, done.stdout

    copy = tmp_path / "backup" / "artifortress.db"
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        published = db.execute(
            "SELECT count(*) FROM versions WHERE state = 'published'"
        ).fetchone()[0]
    assert len(before) <= published <= UPLOADS

    with ServerProcess(tmp_path / "backup", environ) as restored:
        auth = {"Authorization": f"Bearer {token}"}
        for entry in before:
            assert entry is not None
            path, data = entry
            got = requests.get(
                f"{restored.base_url}/generic/files/{path}", headers=auth, timeout=TIMEOUT
            )
            assert got.status_code == 200, path
            assert got.content == data, path
        listing = requests.get(
            f"{restored.base_url}/v1/repos/files/packages/app", headers=auth, timeout=TIMEOUT
        )
        assert listing.status_code == 200, listing.text
        versions = [v["version"] for v in listing.json()["versions"]]
        assert len(versions) == published
        # Every version in the copy has its bytes in the copy too.
        for version in versions:
            n = version.removeprefix("1.")
            got = requests.get(
                f"{restored.base_url}/generic/files/app/{version}/app-{n}.bin",
                headers=auth,
                timeout=TIMEOUT,
            )
            assert got.status_code == 200, version


def test_backup_refuses_postgresql_naming_pg_dump(tmp_path: Path) -> None:
    environ = clean_environ(
        {
            "ARTIFORTRESS_HOME": str(tmp_path),
            "ARTIFORTRESS_DATABASE_URL": "postgresql+psycopg://u:p@127.0.0.1:1/none",
        }
    )
    done = run_cli(["backup", str(tmp_path / "backup")], environ, check=False)
    assert done.returncode == 1
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "backup").exists()


def test_backup_refuses_a_home_without_a_database(tmp_path: Path) -> None:
    environ = clean_environ({"ARTIFORTRESS_HOME": str(tmp_path / "nowhere")})
    done = run_cli(["backup", str(tmp_path / "backup")], environ, check=False)
    assert done.returncode == 1
    assert "no database at" in done.stderr
    assert not (tmp_path / "nowhere" / "artifortress.db").exists()
