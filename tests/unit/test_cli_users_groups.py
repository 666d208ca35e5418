"""``artifortress admin disable-user|enable-user|delete-user`` and ``artifortress group ...``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from artifortress import cli
from artifortress.audit.models import AuditEntry
from artifortress.db.engine import make_engine, make_session_factory


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An embedded installation with its schema, as ``artifortress serve`` leaves it."""
    for name in ("ARTIFORTRESS_DATABASE_URL", "ARTIFORTRESS_CONFIG", "ARTIFORTRESS_BLOB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTIFORTRESS_HOME", str(tmp_path / "home"))
    assert cli.main(["db", "upgrade"]) == 0
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def audit_actions(home: Path) -> list[tuple[str, str | None, str]]:
    engine = make_engine(f"sqlite:///{home / 'artifortress.db'}")
    with make_session_factory(engine)() as db:
        rows = db.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.actor).order_by(AuditEntry.id)
        ).all()
    engine.dispose()
    return [(action, target, actor) for action, target, actor in rows]


def test_disable_enable_and_delete_a_user(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "admin", "create-token", "--user", "bob")[0] == 0
    assert run(capsys, "admin", "disable-user", "bob")[1].startswith("disabled bob")
    code, _, err = run(capsys, "admin", "create-token", "--user", "bob")
    assert code == 1
    assert "is disabled" in err
    assert run(capsys, "admin", "enable-user", "bob")[1] == "enabled bob\n"
    code, out, _ = run(capsys, "admin", "delete-user", "bob")
    assert code == 0
    assert "1 tokens revoked" in out
    code, _, err = run(capsys, "admin", "create-token", "--user", "bob")
    assert code == 1
    assert "not reused" in err
    code, _, err = run(capsys, "admin", "disable-user", "bob")
    assert code == 1
    assert "no user 'bob'" in err
    assert [a for a in audit_actions(home) if a[0].startswith("user.")] == [
        ("user.disable", "bob", "cli"),
        ("user.enable", "bob", "cli"),
        ("user.delete", "bob", "cli"),
    ]


def test_groups_members_and_bindings(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "admin", "create-token", "--user", "bob")
    run(capsys, "repo", "create", "files", "--format", "generic")
    assert run(capsys, "group", "create", "team")[1] == "created group team\n"
    assert run(capsys, "group", "add-member", "team", "bob")[0] == 0
    assert run(capsys, "group", "list")[1] == "team\tbob\n"
    out = run(capsys, "group", "bind", "files", "team", "--role", "write", "--role", "read")[1]
    assert out == "group team on files: read, write\n"
    assert run(capsys, "group", "bind", "files", "team")[1] == "group team on files: no roles\n"
    assert run(capsys, "group", "remove-member", "team", "bob")[0] == 0
    code, _, err = run(capsys, "group", "remove-member", "team", "bob")
    assert code == 1
    assert "no member" in err
    code, _, err = run(capsys, "group", "bind", "files", "team", "--role", "root")
    assert code == 1
    assert "unknown roles" in err
    assert run(capsys, "group", "delete", "team")[0] == 0
    assert run(capsys, "group", "list")[1] == "no groups\n"
