"""The ``artifortress`` command line: tokens, repositories, plugins, schema, start-up refusals."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from artifortress import cli
from artifortress.db import migrate
from artifortress.db.engine import make_engine
from artifortress.testing.databases import postgres_database
from artifortress.testing.server import free_port, run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedded installation; the CLI reads its settings from the environment."""
    for name in ("ARTIFORTRESS_DATABASE_URL", "ARTIFORTRESS_CONFIG", "ARTIFORTRESS_BLOB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTIFORTRESS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def installed(home: Path) -> Path:
    """*home* with its embedded database, as ``artifortress serve`` leaves it on first start."""
    home.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{home / 'artifortress.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    return home


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database (no schema at all)."""
    with postgres_database("af_cli") as url:
        yield url


def test_create_token_prints_the_token_as_the_last_line(tmp_path: Path) -> None:
    """Through the installed script, exactly as an operator runs it on a new installation."""
    environ = {"ARTIFORTRESS_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    run_cli(["db", "upgrade"], environ)  # what `serve` does on first start
    done = run_cli(["admin", "create-token", "--user", "admin", "--admin"], environ)
    token = done.stdout.splitlines()[-1]
    assert token.startswith("afpat_")
    assert len(token) > 60
    assert "admin (admin)" in done.stderr  # the human-readable summary goes to stderr


@pytest.mark.parametrize(
    "command",
    [
        ["admin", "create-token", "--user", "admin", "--admin"],
        ["repo", "list"],
        ["db", "current"],
        ["worker", "--drain"],
        ["gc", "--dry-run"],
    ],
)
def test_commands_refuse_to_create_a_database_the_server_does_not_use(
    tmp_path: Path, command: list[str]
) -> None:
    """A second terminal without the server's ARTIFORTRESS_HOME gets told, not a new database."""
    environ = {"ARTIFORTRESS_HOME": str(tmp_path / "elsewhere"), "PATH": "/usr/bin:/bin"}
    done = run_cli(command, environ, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # no token printed
    (message,) = done.stderr.strip().splitlines()
    assert f"no Artifortress database at {tmp_path / 'elsewhere' / 'artifortress.db'}" in message
    assert "ARTIFORTRESS_HOME" in message
    assert "`artifortress serve`" in message
    assert not (tmp_path / "elsewhere").exists()


def test_the_default_home_is_found_from_the_folder_serve_runs_in(tmp_path: Path) -> None:
    """As the README runs it: `make serve` and the CLI both from the repository's root."""
    import subprocess

    from artifortress.testing.server import artifortress_command, clean_environ

    root, other = tmp_path / "repo", tmp_path / "other"
    root.mkdir()
    other.mkdir()
    environ = clean_environ({})

    def artifortress(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [artifortress_command(), *args],
            cwd=cwd,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    assert artifortress(root, "db", "upgrade").returncode == 0  # as `serve` does
    made = artifortress(root, "admin", "create-token", "--user", "admin", "--admin")
    assert made.returncode == 0, made.stderr
    refused = artifortress(other, "admin", "create-token", "--user", "admin", "--admin")
    assert refused.returncode == 2
    assert f"the default ./var, relative to the current folder {other}" in refused.stderr
    assert not (other / "var").exists()


def test_create_token_for_an_existing_user_adds_a_token(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(capsys, "admin", "create-token", "--user", "ci")
    second = run(capsys, "admin", "create-token", "--user", "ci", "--ttl-days", "7", "--read-only")
    assert first[0] == second[0] == 0
    assert first[1].splitlines()[-1] != second[1].splitlines()[-1]
    code, out, _ = run(capsys, "admin", "list-tokens", "--user", "ci")
    assert code == 0
    assert len(out.strip().splitlines()) == 2


@pytest.mark.parametrize("ttl", ["366", "0", "-3"])
def test_a_ttl_beyond_the_limits_fails_clearly(
    installed: Path, capsys: pytest.CaptureFixture[str], ttl: str
) -> None:
    code, out, err = run(capsys, "admin", "create-token", "--user", "ci", f"--ttl-days={ttl}")
    assert code == 1
    assert out == ""  # no token printed
    assert "ttl_days must be between 1 and 365" in err
    assert "Traceback" not in err


def test_the_maximum_ttl_follows_the_setting(
    installed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_TOKEN_MAX_TTL_DAYS", "30")
    monkeypatch.setenv("ARTIFORTRESS_TOKEN_DEFAULT_TTL_DAYS", "30")
    code, _, err = run(capsys, "admin", "create-token", "--user", "ci", "--ttl-days", "31")
    assert code == 1
    assert "between 1 and 30" in err


def test_revoke_token(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "admin", "create-token", "--user", "ci")
    key_id = out.splitlines()[-1].split("_")[1]
    code, out, _ = run(capsys, "admin", "revoke-token", key_id)
    assert (code, out.strip()) == (0, f"revoked {key_id}")
    _, listing, _ = run(capsys, "admin", "list-tokens", "--user", "ci")
    assert "revoked None" not in listing
    code, _, err = run(capsys, "admin", "revoke-token", "nosuchtoken1")
    assert code == 1
    assert "no token 'nosuchtoken1'" in err


def test_repo_create_and_list(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "repo", "list")
    assert (code, out) == (0, "")
    assert run(capsys, "repo", "create", "libs", "--format", "generic")[0] == 0
    assert run(capsys, "repo", "create", "site", "--format", "pypi", "--public")[0] == 0
    code, out, _ = run(capsys, "repo", "list")
    assert code == 0
    assert out.splitlines() == ["libs\tgeneric\thosted\tprivate", "site\tpypi\thosted\tpublic"]


def test_repo_create_makes_remote_and_virtual_repositories(
    installed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTREAM_PASSWORD", "s3cret-pw")
    remote = ["--kind", "remote", "--upstream", "https://pypi.example/simple/"]
    credentials = ["--upstream-user", "bot", "--upstream-password-env", "UPSTREAM_PASSWORD"]
    code, out, _ = run(
        capsys,
        "repo",
        "create",
        "up",
        "--format",
        "pypi",
        *remote,
        *credentials,
        "--metadata-ttl",
        "1h",
    )
    assert (code, out.strip()) == (0, "created pypi remote repository up")
    assert run(capsys, "repo", "create", "py", "--format", "pypi")[0] == 0
    members = ["--member", "py", "--member", "up", "--merge", "setuptools*"]
    assert (
        run(capsys, "repo", "create", "all", "--format", "pypi", "--kind", "virtual", *members)[0]
        == 0
    )
    code, out, _ = run(capsys, "repo", "list")
    assert out.splitlines() == [
        "all\tpypi\tvirtual\tprivate",
        "py\tpypi\thosted\tprivate",
        "up\tpypi\tremote\tprivate",
    ]
    stored = b"".join(path.read_bytes() for path in installed.glob("artifortress.db*"))
    assert b"bot" in stored  # what is stored in clear is found here
    assert b"s3cret-pw" not in stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--format", "pypi", "--kind", "remote"], "upstream.url"),
        (["up", "--format", "pypi", "--kind", "remote", "--upstream", "ftp://x/"], "http"),
        (
            [
                "up",
                "--format",
                "pypi",
                "--kind",
                "remote",
                "--upstream",
                "https://x/",
                "--upstream-password-env",
                "NO_SUCH_VARIABLE_SET",
            ],
            "NO_SUCH_VARIABLE_SET",
        ),
        (["all", "--format", "pypi", "--kind", "virtual", "--member", "nope"], "nope"),
        (["libs", "--format", "maven"], "maven"),
        (["Bad Key", "--format", "generic"], "Bad Key"),
    ],
)
def test_repo_create_refuses_bad_input(
    installed: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "repo", "create", *args)
    assert code == 1
    assert message in err


def test_repo_create_refuses_a_duplicate(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "repo", "create", "libs", "--format", "generic")[0] == 0
    code, _, err = run(capsys, "repo", "create", "libs", "--format", "npm")
    assert code == 1
    assert "libs" in err


def test_plugins_lists_the_three_formats(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    (formats,) = [line for line in out.splitlines() if line.startswith("formats: ")]
    # Other installed plugins (a third party's, say) may add more.
    assert {"generic", "npm", "pypi"} <= set(formats.removeprefix("formats: ").split(", "))
    for distribution in ("artifortress-pypi", "artifortress-npm", "artifortress-generic"):
        assert distribution in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 2
    assert "serve" in out


def test_a_wrong_setting_stops_the_command(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_LOG_FORMAT", "xml")
    code, _, err = run(capsys, "repo", "list")
    assert code == 2
    assert "ARTIFORTRESS_LOG_FORMAT" in err


def test_config_option_reads_a_toml_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text(f'home = "{tmp_path / "other"}"\n')
    monkeypatch.delenv("ARTIFORTRESS_HOME")
    monkeypatch.setenv("ARTIFORTRESS_CONFIG", "")  # restored after the test; main sets it
    assert run(capsys, "--config", str(config), "db", "upgrade")[0] == 0
    assert run(capsys, "--config", str(config), "repo", "create", "x", "--format", "npm")[0] == 0
    assert (tmp_path / "other" / "artifortress.db").exists()
    assert not home.exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ARTIFORTRESS_BIND", "localhost"),
        ("ARTIFORTRESS_WORKERS", "zero"),
        ("ARTIFORTRESS_DATABASE_URL", "mysql://root@localhost/db"),
        ("ARTIFORTRESS_BLOB_URL", "ftp://files"),
        ("ARTIFORTRESS_LOG_FORMAT", "yaml"),
    ],
)
def test_serve_refuses_a_wrong_setting_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    environ = {
        "ARTIFORTRESS_HOME": str(tmp_path / "home"),
        "ARTIFORTRESS_BIND": f"127.0.0.1:{free_port()}",
        variable: value,
    }
    done = run_cli(["serve"], environ, check=False, timeout=30)
    assert done.returncode == 2, done.stdout + done.stderr
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.postgres
def test_serve_refuses_an_outdated_postgres_schema(tmp_path: Path, fresh_postgres: str) -> None:
    environ = {
        "ARTIFORTRESS_HOME": str(tmp_path / "home"),
        "ARTIFORTRESS_DATABASE_URL": fresh_postgres,
        "ARTIFORTRESS_BIND": f"127.0.0.1:{free_port()}",
    }
    done = run_cli(["serve"], environ, check=False, timeout=30)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "run `artifortress db upgrade`" in done.stderr
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stdout

    # Operator commands refuse the same way instead of creating half a schema.
    done = run_cli(["repo", "list"], environ, check=False)
    assert done.returncode == 2
    assert "artifortress db upgrade" in done.stderr


@pytest.mark.postgres
def test_db_upgrade_then_current_on_postgres(
    home: Path,
    fresh_postgres: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_DATABASE_URL", fresh_postgres)
    head = migrate.head_revision()
    code, out, _ = run(capsys, "db", "current")
    assert (code, out.strip()) == (1, f"current: none; head: {head}")
    code, out, _ = run(capsys, "db", "upgrade")
    assert (code, out.strip()) == (0, f"database at revision {head}")
    code, out, _ = run(capsys, "db", "current")
    assert (code, out.strip()) == (0, f"current: {head}; head: {head}")
    assert run(capsys, "db", "upgrade")[0] == 0  # idempotent
    assert run(capsys, "repo", "create", "libs", "--format", "generic")[0] == 0
    assert not home.exists()  # nothing embedded was created next to an external database


@pytest.mark.postgres
def test_serve_refuses_a_schema_newer_than_the_code(
    tmp_path: Path,
    fresh_postgres: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After rolling the code back, the message must not suggest an upgrade that cannot work."""
    engine = make_engine(fresh_postgres)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    monkeypatch.setenv("ARTIFORTRESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARTIFORTRESS_DATABASE_URL", fresh_postgres)
    code, _, err = run(capsys, "repo", "list")
    assert code == 2
    assert "9999_from_the_future" in err
    assert "newer" in err


def test_the_embedded_database_migrates_itself(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home.mkdir()
    (home / "artifortress.db").touch()  # an installation whose schema is behind
    code, out, _ = run(capsys, "db", "current")
    assert code == 1
    assert out.startswith("current: none")
    assert run(capsys, "repo", "list")[0] == 0
    code, out, _ = run(capsys, "db", "current")
    assert code == 0


def test_an_unreachable_database_is_reported_without_traceback(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "ARTIFORTRESS_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
    )
    code, _, err = run(capsys, "db", "current")
    assert code == 1
    assert "cannot reach the database" in err
    assert "Traceback" not in err


def test_settings_lists_every_variable_and_hides_passwords(tmp_path):
    from artifortress.settings import describe
    from artifortress.testing.server import clean_environ, run_cli

    environ = clean_environ(
        {
            "ARTIFORTRESS_HOME": str(tmp_path),
            "ARTIFORTRESS_REDIS_URL": "redis://:s3cr3t-pw@127.0.0.1:6379/0",
        }
    )
    shown = run_cli(["settings"], environ).stdout
    for variable, _default, _meaning in describe():
        assert f"{variable}=" in shown
    assert "s3cr3t-pw" not in shown
    assert "ARTIFORTRESS_REDIS_URL=redis://:***@127.0.0.1:6379/0" in shown


# -- help and the settings command ---------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """*parser* and every parser of its subcommands, at any depth."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _parsers(subparser)


def _texts(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every text a user reads in *parser*'s help."""
    yield parser.description or ""
    for action in parser._actions:
        yield action.help or ""
        if isinstance(action, argparse._SubParsersAction):
            yield from (choice.help or "" for choice in action._choices_actions)


def test_every_option_has_help() -> None:
    missing = [
        f"{parser.prog} {action.option_strings[0]}"
        for parser in _parsers(cli.build_parser())
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    assert not missing


def test_help_has_no_restructuredtext_markup() -> None:
    markup = re.compile(r"``|:(func|class|meth|mod|attr):`")
    marked = [
        (parser.prog, text)
        for parser in _parsers(cli.build_parser())
        for text in _texts(parser)
        if markup.search(text)
    ]
    assert not marked


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # unwrapped


def test_format_help_lists_the_installed_formats(capsys: pytest.CaptureFixture[str]) -> None:
    from artifortress.plugin_manager import collect_formats, make_plugin_manager

    installed = sorted(collect_formats(make_plugin_manager()))
    assert {"pypi", "npm", "generic"} <= set(installed)
    assert f"one of the installed formats: {', '.join(installed)}" in _help(
        capsys, "repo", "create"
    )


def test_serve_help_names_what_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(capsys, "serve")
    for variable in ("BIND", "WORKERS", "THREADS", "HOME", "DATABASE_URL"):
        assert f"ARTIFORTRESS_{variable}" in shown
    assert "'artifortress settings' lists them all" in shown


def test_settings_shows_values_as_typed_with_one_default_per_line(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_DRAFT_TTL", "2d")
    code, out, _ = run(capsys, "settings")
    assert code == 0
    lines = out.splitlines()
    for expected in (
        "ARTIFORTRESS_DRAFT_TTL=2d",
        "ARTIFORTRESS_GC_GRACE=24h",
        "ARTIFORTRESS_MAX_JSON_BODY=1MiB",
        "ARTIFORTRESS_TRUST_FORWARDED=false",
        "ARTIFORTRESS_WORKERS=2",
    ):
        assert expected in lines
    assert "    how long an unpublished draft lives (e.g. 24h) (default: 24h)" in lines
    assert all(line.count("(default:") <= 1 for line in lines), out
    for internal in ("86400", "True", "1048576"):  # seconds, Python's bool, bytes
        assert internal not in out


def test_a_wrong_setting_is_one_line_naming_it(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_WORKERS", "two")
    code, out, err = run(capsys, "settings")
    assert (code, out) == (2, "")
    assert err == (
        "configuration error: ARTIFORTRESS_WORKERS: expected a positive whole number, got 'two'\n"
    )
