"""``artifortress remote prefetch`` and ``remote cache`` in process, upstream on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from artifortress import cli
from artifortress.audit.models import AuditEntry
from artifortress.auth.models import Token
from artifortress.cli.inprocess import CLI_USER
from artifortress.db import migrate
from artifortress.db.engine import make_engine, make_session_factory
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from plugins.pypi.tests.pypi_upstream import PypiTree
from tests.support.upstream import Upstream


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ARTIFORTRESS_DATABASE_URL", "ARTIFORTRESS_CONFIG", "ARTIFORTRESS_BLOB_URL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ARTIFORTRESS_HOME", str(home))
    monkeypatch.setenv("ARTIFORTRESS_UPSTREAM_RETRIES", "0")
    engine = make_engine(f"sqlite:///{home / 'artifortress.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    return home


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repos(home: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]) -> None:
    remote = ["--kind", "remote", "--upstream", upstream.url]
    assert run(capsys, "repo", "create", "up", "--format", "generic", *remote)[0] == 0
    assert run(capsys, "repo", "create", "local", "--format", "generic")[0] == 0
    members = ["--member", "local", "--member", "up"]
    assert (
        run(capsys, "repo", "create", "all", "--format", "generic", "--kind", "virtual", *members)[
            0
        ]
        == 0
    )


def rows(home: Path, model: type) -> list:
    engine = make_engine(f"sqlite:///{home / 'artifortress.db'}")
    try:
        with make_session_factory(engine)() as db:
            return list(db.scalars(select(model)))
    finally:
        engine.dispose()


def test_prefetch_fetches_each_path_once_and_names_each_failure(
    home, repos, upstream, tmp_path, capsys
):
    upstream.serve("/tool/1.0/tool.tgz", b"tool")
    upstream.serve("/tool/1.0/docs/readme.txt", b"readme")
    listed = tmp_path / "paths.txt"
    listed.write_text("# wanted\ntool/1.0/tool.tgz\ntool/1.0/docs/readme.txt\ngone/1.0/x.bin\n")
    code, out, err = run(capsys, "remote", "prefetch", "all", str(listed))
    assert code == 1
    assert out.strip() == "prefetched 2 of 3 requests through all; 1 failed"
    assert "failed: /generic/all/gone/1.0/x.bin: 404" in err
    assert upstream.hits["/tool/1.0/tool.tgz"] == 1
    listed.write_text("tool/1.0/tool.tgz\ntool/1.0/docs/readme.txt\n")
    code, out, _err = run(capsys, "remote", "prefetch", "all", str(listed))
    assert (code, out.strip()) == (0, "prefetched 2 of 2 requests through all")
    assert upstream.hits["/tool/1.0/tool.tgz"] == 1, "the second run was served from the cache"
    code, out, _err = run(capsys, "remote", "cache", "up")
    assert code == 0
    assert "files: 2 files in 1 version, 10 bytes" in out


def test_prefetch_acts_with_a_token_it_revokes_and_is_audited(
    home, repos, upstream, tmp_path, capsys
):
    upstream.serve("/tool/1.0/tool.tgz", b"tool")
    listed = tmp_path / "paths.txt"
    listed.write_text("tool/1.0/tool.tgz\n")
    assert run(capsys, "remote", "prefetch", "up", str(listed))[0] == 0
    (token,) = [t for t in rows(home, Token) if t.name.startswith("remote prefetch up")]
    assert (token.user.name, token.read_only) == (CLI_USER, True)
    assert token.revoked_at is not None
    actions = {(row.action, row.actor, row.target) for row in rows(home, AuditEntry)}
    assert ("token.create", "cli", token.key_id) in actions
    assert ("token.revoke", "cli", token.key_id) in actions
    assert any(row[:2] == ("remote.prefetch", "cli") for row in actions)
    assert any(row[:2] == ("blob.ingest", "remote:up") for row in actions)


def test_prefetch_refuses_a_hosted_repository(home, repos, tmp_path, capsys):
    listed = tmp_path / "paths.txt"
    listed.write_text("tool/1.0/tool.tgz\n")
    code, _out, err = run(capsys, "remote", "prefetch", "local", str(listed))
    assert code == 1
    assert "is hosted" in err


def test_cache_purge_forgets_and_with_files_deletes(home, repos, upstream, tmp_path, capsys):
    upstream.serve("/tool/1.0/tool.tgz", b"tool")
    listed = tmp_path / "paths.txt"
    listed.write_text("tool/1.0/tool.tgz\n")
    assert run(capsys, "remote", "prefetch", "up", str(listed))[0] == 0
    code, out, _err = run(capsys, "remote", "cache", "up", "--purge", "--files")
    assert (code, out.strip()) == (0, "purged 0 documents and 1 version from up")
    assert run(capsys, "remote", "cache", "up", "--files")[0] == 1


def wheel(folder: Path, name: str, version: str) -> Path:
    return make_wheel(
        folder,
        f"{name}-{version}-py3-none-any.whl",
        metadata_text(name, version).encode(),
        dist_info=f"{name}-{version}.dist-info",
    )


def test_prefetch_pinned_requirements_through_a_pypi_virtual(home, upstream, tmp_path, capsys):
    tree = PypiTree(upstream)
    folder = tmp_path / "dists"
    folder.mkdir()
    for name, version in (("foo", "1.0"), ("foo", "2.0"), ("bar", "0.5")):
        tree.add(wheel(folder, name, version))
    remote = ["--kind", "remote", "--upstream", tree.url]
    assert run(capsys, "repo", "create", "pypi-up", "--format", "pypi", *remote)[0] == 0
    assert run(capsys, "repo", "create", "py", "--format", "pypi")[0] == 0
    virtual = ["--kind", "virtual", "--member", "py", "--member", "pypi-up"]
    assert run(capsys, "repo", "create", "all", "--format", "pypi", *virtual)[0] == 0
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("foo==1.0 \\\n    --hash=sha256:0000\nBar==0.5\n")
    code, out, err = run(capsys, "remote", "prefetch", "all", str(requirements))
    assert (code, out.strip()) == (0, "prefetched 4 of 4 requests through all"), err
    assert tree.hits("foo-1.0-py3-none-any.whl") == 1
    assert tree.hits("bar-0.5-py3-none-any.whl") == 1
    assert tree.hits("foo-2.0-py3-none-any.whl") == 0, "only the pinned version"


def npm_package(upstream: Upstream, name: str, versions: dict[str, bytes]) -> None:
    """A packument and its tarballs on the upstream, as a registry serves them."""
    entries = {}
    for version, data in versions.items():
        path = f"/{name}/-/{name}-{version}.tgz"
        upstream.serve(path, data)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        dist = {"tarball": upstream.url + path.lstrip("/"), "integrity": integrity}
        entries[version] = {"name": name, "version": version, "dist": dist}
    packument = {"name": name, "dist-tags": {"latest": max(versions)}, "versions": entries}
    upstream.serve(f"/{name}", json.dumps(packument).encode(), content_type="application/json")


def test_prefetch_a_package_lock_through_an_npm_remote(home, upstream, tmp_path, capsys):
    npm_package(upstream, "ms", {"2.1.3": b"ms tarball", "2.1.2": b"older"})
    npm_package(upstream, "debug", {"4.3.4": b"debug tarball"})
    remote = ["--kind", "remote", "--upstream", upstream.url]
    assert run(capsys, "repo", "create", "npm-up", "--format", "npm", *remote)[0] == 0
    registry = "https://registry.npmjs.org"
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/debug": {
                "version": "4.3.4",
                "resolved": f"{registry}/debug/-/debug-4.3.4.tgz",
            },
            "node_modules/ms": {"version": "2.1.3", "resolved": f"{registry}/ms/-/ms-2.1.3.tgz"},
        },
    }
    locked = tmp_path / "package-lock.json"
    locked.write_text(json.dumps(lock))
    code, out, err = run(capsys, "remote", "prefetch", "npm-up", str(locked))
    assert (code, out.strip()) == (0, "prefetched 4 of 4 requests through npm-up"), err
    assert upstream.hits["/ms/-/ms-2.1.3.tgz"] == 1
    assert upstream.hits["/debug/-/debug-4.3.4.tgz"] == 1
    assert upstream.hits["/ms/-/ms-2.1.2.tgz"] == 0, "only the locked version"
