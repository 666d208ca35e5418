"""The ``artifortress`` command line: serve, migrate, administer.

Heavy modules are imported inside each command, so ``serve`` can prepare the
metrics folder before prometheus_client is imported.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import exc as sa_exc

from artifortress.errors import ArtifortressError, ConfigurationError
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.auth.principal import Caller

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 2 for a configuration problem, 1 for any other refusal."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    if args.config:
        os.environ["ARTIFORTRESS_CONFIG"] = args.config  # workers re-read it
    try:
        settings = Settings.load()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_embedded and args.run in (cmd_serve, cmd_db_upgrade):
        # SQLite cannot create the file of a missing folder; only these two create one.
        settings.home.mkdir(parents=True, exist_ok=True)
    return _guarded(settings, lambda: int(args.run(settings, args)))


def _guarded(settings: Settings, command: Callable[[], int]) -> int:
    """Run *command*; an operator's error becomes one line on stderr and exit status 1 or 2."""
    try:
        return command()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except ArtifortressError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        # Connection refused, authentication failed, unknown database: an operator's
        # problem to fix, stated in one line rather than as a traceback.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"error: cannot reach the database {_safe_url(settings)}: {reason}", file=sys.stderr)
        return 1


#: What ``serve --help`` says: which settings it reads, and where to see them all.
_SERVE_DESCRIPTION = (
    "Run the API under gunicorn on ARTIFORTRESS_BIND (default 127.0.0.1:8080), with "
    "ARTIFORTRESS_WORKERS processes of ARTIFORTRESS_THREADS threads each. The embedded default "
    "keeps its database and blobs under ARTIFORTRESS_HOME (./var) and migrates itself; with "
    "ARTIFORTRESS_DATABASE_URL set, run 'artifortress db upgrade' first. Every ARTIFORTRESS_* "
    "environment variable applies (or the same key in the --config file): 'artifortress "
    "settings' lists them all with their defaults and current values."
)


class _InstalledFormatsHelp(argparse.HelpFormatter):
    """Ends the help of ``--format`` with the installed formats, looked up only for --help.

    Loading the plugins while building the parser would import them for every command,
    before ``serve`` prepares the metrics folder.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        if action.dest != "format" or text is None:
            return text
        from artifortress.plugin_manager import collect_formats, make_plugin_manager

        installed = sorted(collect_formats(make_plugin_manager())) or ["none installed"]
        return f"{text}: {', '.join(installed)}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifortress",
        description="The artifortress command line: serve, migrate, administer.",
    )
    parser.add_argument("--config", help="TOML file with settings (environment wins)")
    sub = parser.add_subparsers(title="commands")

    serve = sub.add_parser(
        "serve", help="run the API under gunicorn", description=_SERVE_DESCRIPTION
    )
    serve.set_defaults(run=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="apply migrations").set_defaults(run=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(run=cmd_db_current)

    plugins = sub.add_parser("plugins", help="list installed format plugins")
    plugins.set_defaults(run=cmd_plugins)
    plugin_commands = plugins.add_subparsers(title="plugins commands")
    check = plugin_commands.add_parser(
        "check",
        help="check that a plugin's source imports only artifortress.plugin",
        description="Read every .py file under PATH (hidden folders and virtual environments "
        "aside) and name each import a plugin may not make: anything of artifortress but "
        "artifortress.plugin, and artifortress.testing outside tests. Nothing is imported. "
        "Exit status: 0 clean, 1 a forbidden import (or no Python file).",
    )
    check.add_argument("path", help="the plugin's source folder (or one file)")
    check.set_defaults(run=cmd_plugins_check)
    new_plugin = plugin_commands.add_parser(
        "new",
        help="write a working plugin project to start a format from",
        description="Write a plugin project for format NAME into a new folder: a "
        "distribution with the artifortress.plugins entry point, a plugin module with one "
        "route, and tests using the test kit. An existing folder is never overwritten. "
        "Next steps: docs/plugins.md, 'Writing a format plugin'.",
    )
    new_plugin.add_argument("name", help="the format name (lower-case letters and digits)")
    new_plugin.add_argument(
        "--dir", help="the project folder to create (default: ./artifortress-NAME)"
    )
    new_plugin.set_defaults(run=cmd_plugins_new)
    sub.add_parser(
        "settings", help="list every ARTIFORTRESS_* setting with its default and current value"
    ).set_defaults(run=cmd_settings)

    admin = sub.add_parser("admin", help="operator commands").add_subparsers(title="admin commands")
    create = admin.add_parser("create-token", help="create a user if missing and print a token")
    create.add_argument("--user", required=True, help="user name (created if missing)")
    create.add_argument("--admin", action="store_true", help="make the user a tenant admin")
    create.add_argument(
        "--ttl-days",
        type=int,
        default=None,
        help="lifetime in days (default: ARTIFORTRESS_TOKEN_DEFAULT_TTL_DAYS, 90; "
        "at most ARTIFORTRESS_TOKEN_MAX_TTL_DAYS, 365)",
    )
    create.add_argument(
        "--name",
        default="created by artifortress admin create-token",
        help="a label to recognize the token by in listings",
    )
    create.add_argument(
        "--read-only", action="store_true", help="the token may read but never change anything"
    )
    create.add_argument(
        "--repo",
        action="append",
        dest="repos",
        help="limit the token to this repository (repeatable)",
    )
    create.set_defaults(run=cmd_create_token)
    revoke = admin.add_parser("revoke-token", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the token's id, as list-tokens shows it")
    revoke.set_defaults(run=cmd_revoke_token)
    tokens = admin.add_parser("list-tokens", help="list a user's tokens")
    tokens.add_argument("--user", required=True, help="user name")
    tokens.set_defaults(run=cmd_list_tokens)
    for verb, doc in (
        ("disable", "stop every token of a user (within a second), keep everything else"),
        ("enable", "let a disabled user's live tokens work again"),
        ("delete", "revoke a user's tokens, drop their bindings; the name stays reserved"),
    ):
        user_command = admin.add_parser(f"{verb}-user", help=doc)
        user_command.add_argument("user")
        user_command.set_defaults(run=_rbac_command(f"{verb}_user"))

    group = sub.add_parser("group", help="groups of users").add_subparsers(title="group commands")
    for verb, function, doc, positionals in (
        ("create", "create_group", "create a group", ("group",)),
        ("delete", "delete_group", "delete a group, its memberships and bindings", ("group",)),
        ("list", "list_groups", "list groups and their members", ()),
        ("add-member", "add_member", "add a user to a group", ("group", "user")),
        ("remove-member", "remove_member", "remove a user from a group", ("group", "user")),
        ("bind", "bind_group", "set a group's roles on a repository", ("repo", "group")),
    ):
        group_command = group.add_parser(verb, help=doc)
        for positional in positionals:
            group_command.add_argument(positional)
        group_command.set_defaults(run=_rbac_command(function))
        if verb == "bind":
            group_command.add_argument(
                "--role", action="append", dest="roles", help="repeatable; none removes the binding"
            )

    repo = sub.add_parser("repo", help="repositories").add_subparsers(title="repo commands")
    rcreate = repo.add_parser(
        "create", help="create a repository", formatter_class=_InstalledFormatsHelp
    )
    rcreate.add_argument(
        "key",
        help="the repository's name in URLs: 1-64 lower-case letters, digits, '.', '_' or '-'",
    )
    rcreate.add_argument("--format", required=True, help="one of the installed formats")
    rcreate.add_argument("--public", action="store_true", help="anyone may read it without a token")
    rcreate.add_argument("--description", default="", help="a line saying what it holds")
    rcreate.set_defaults(run=cmd_repo_create)
    repo.add_parser("list", help="list repositories").set_defaults(run=cmd_repo_list)

    gc = sub.add_parser("gc", help="collect blobs that no live artifact references")
    gc.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    gc.set_defaults(run=cmd_gc)

    blobs = sub.add_parser("blobs", help="blob store").add_subparsers(title="blobs commands")
    reap = blobs.add_parser("reap", help="expire overdue upload sessions, sweep leftovers")
    reap.set_defaults(run=cmd_blobs_reap)

    scrub = sub.add_parser(
        "scrub",
        help="re-hash stored blobs, reconcile the store with the database; "
        "exit 3 if a blob is corrupt or missing",
        description="Re-hash every stored blob and reconcile the blob store with the database. "
        "Corrupt objects are moved aside (quarantine/ in the store) so they are never served; "
        "rows without an object are reported missing; both heal when the same bytes are "
        "uploaded again. Exit status: 0 clean, 3 something corrupt or missing, 1 could not run.",
    )
    scrub.add_argument(
        "--dry-run", action="store_true", help="report only: move nothing aside, remove nothing"
    )
    scrub.add_argument(
        "--remove-orphans",
        action="store_true",
        help="remove objects no row names once older than ARTIFORTRESS_GC_GRACE",
    )
    scrub.add_argument("--json", action="store_true", help="print the report as JSON")
    scrub.set_defaults(run=cmd_scrub)

    worker = sub.add_parser("worker", help="consume the outbox (search index, webhooks, plugins)")
    worker.add_argument("--drain", action="store_true", help="exit once nothing is pending")
    worker.set_defaults(run=cmd_worker)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the database")
    reindex.add_argument("--recreate", action="store_true", help="drop and recreate it first")
    reindex.set_defaults(run=cmd_reindex)
    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database (online, consistent) and with --blobs the local blobs",
        description="Copy the embedded default while the server runs: the database with "
        "SQLite's backup API, then, with --blobs, the committed blob files. DEST is laid out "
        "as a home folder. On PostgreSQL use pg_dump instead (deploy/RUNBOOK.md, section 4).",
    )
    backup.add_argument("dest", help="a folder without a backup in it yet (made if missing)")
    backup.add_argument(
        "--blobs", action="store_true", help="also copy the local blob folder (after the database)"
    )
    backup.set_defaults(run=cmd_backup)
    return parser


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    # server.serve sets the metrics folder up before anything imports prometheus_client.
    from artifortress.server import serve

    def prepare() -> int:
        _prepare_database(settings, create=True)
        _print_first_start_hint(settings)
        return 0

    def before_start() -> None:
        status = _in_child_process(lambda: _guarded(settings, prepare))
        if status != 0:
            raise SystemExit(status)

    serve(settings, before_start, on_ready=lambda: _print_banner(settings))
    return 0


def _print_banner(settings: Settings) -> None:
    """Once the address is bound: where it serves, and what a second terminal needs."""
    from artifortress.serving.arbiter import runs_embedded_worker

    if runs_embedded_worker(settings):
        events = "with its event worker"
    else:
        events = "no event worker: run `artifortress worker` for search and webhooks"
    print(
        f"Artifortress serving on http://{settings.bind}/ "
        f"(database {_safe_url(settings)}; {events})",
        flush=True,
    )
    if not settings.is_embedded:
        print("Other artifortress commands need the same ARTIFORTRESS_* settings.", flush=True)
        return
    where = f"from {Path.cwd()}" if _home_is_default(settings) else "anywhere"
    print(
        f"Run other artifortress commands {where} as\n  {_cli_prefix(settings)} COMMAND ...",
        flush=True,
    )


def _home_is_default(settings: Settings) -> bool:
    """Whether a command run from this folder without ARTIFORTRESS_HOME finds the same home."""
    return settings.home == Path("var").resolve()


def _cli_prefix(settings: Settings) -> str:
    """The start of a command line that reaches this instance's embedded database."""
    import shlex

    words = []
    if not _home_is_default(settings):
        words.append(f"ARTIFORTRESS_HOME={shlex.quote(str(settings.home))}")
    program = sys.argv[0] if Path(sys.argv[0]).name == "artifortress" else "artifortress"
    words.append(shlex.quote(program))
    config = os.environ.get("ARTIFORTRESS_CONFIG")
    if config:
        words.append(f"--config {shlex.quote(str(Path(config).resolve()))}")
    return " ".join(words)


def _in_child_process(work: Callable[[], int]) -> int:
    """Run *work* in a forked child and return its exit status.

    gunicorn's master forks every worker, so whatever the master imports or
    allocates is resident in each of them.  Migrating the schema needs
    alembic (about 10 MiB) and leaves garbage behind, which no worker needs:
    a child does that work and takes its memory with it when it exits.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never return into the caller's stack
        status = 1
        try:
            status = work()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


def _prepare_database(settings: Settings, *, create: bool = False) -> None:
    """Migrate the embedded database; refuse an outdated external one.

    Only *create* (``serve``) may create a missing embedded database: any other
    command that finds none is most likely run with another home than the
    server's, and would print tokens the server does not know.
    """
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    if not create:
        _require_existing_database(settings)
    engine = make_engine(settings.database_url)
    try:
        current = migrate.current_revision(engine)
        if current is not None and not migrate.is_known(current):
            # Upgrading cannot help (the code was rolled back under a newer schema).
            raise ConfigurationError(
                f"the database schema is at revision {current}, which this version of "
                f"Artifortress does not know (its newest is {migrate.head_revision()}): the "
                "database was migrated by a newer version; run that version instead"
            )
        if settings.is_embedded:
            migrate.upgrade(engine)
        elif current != migrate.head_revision():
            raise ConfigurationError(
                f"the database schema is at {current or 'nothing'}, this version needs "
                f"{migrate.head_revision()}: run `artifortress db upgrade` first"
            )
    finally:
        engine.dispose()


def _require_existing_database(settings: Settings) -> None:
    """Refuse to open an embedded database file that does not exist (SQLite would create it)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if Path(url.database).exists():
        return
    home = f"{settings.home}" + (
        f" (the default ./var, relative to the current folder {Path.cwd()})"
        if _home_is_default(settings)
        else ""
    )
    raise ConfigurationError(
        f"no Artifortress database at {url.database}; ARTIFORTRESS_HOME is {home}. Run this "
        "command where `artifortress serve` runs or with the ARTIFORTRESS_HOME its start-up "
        "lines show; to start a new installation here, run `artifortress serve` or "
        "`artifortress db upgrade` first"
    )


def _print_first_start_hint(settings: Settings) -> None:
    from sqlalchemy import select

    from artifortress.auth.models import User

    with _session(settings) as db:
        has_admin = db.scalars(select(User.id).where(User.is_admin.is_(True)).limit(1)).first()
    if has_admin is None:
        print(
            "\nNo administrator yet. Create one with:\n"
            f"  {_cli_prefix(settings)} admin create-token --user admin --admin\n"
            "and use the printed token as 'Authorization: Bearer TOKEN'.\n",
            flush=True,
        )


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")
    engine.dispose()
    return 0


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    _require_existing_database(settings)
    engine = make_engine(settings.database_url)
    current = migrate.current_revision(engine)
    print(f"current: {current or 'none'}; head: {migrate.head_revision()}")
    engine.dispose()
    return 0 if current == migrate.head_revision() else 1


def cmd_settings(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.settings import current, describe

    values = dict(current(settings))
    for variable, default, meaning in describe():
        print(f"{variable}={values[variable]}\n    {meaning} (default: {default or 'unset'})")
    return 0


def cmd_plugins(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.plugin_manager import collect_formats, describe_plugins, make_plugin_manager

    pm = make_plugin_manager()
    for name, version in describe_plugins(pm):
        print(f"{name}\t{version}")
    print("formats: " + (", ".join(sorted(collect_formats(pm))) or "none"))
    return 0


def cmd_plugins_check(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.imports_contract import PUBLIC_API, check_plugin

    found = check_plugin(Path(args.path))
    for problem in found.problems:
        print(problem)
    if found.problems:
        print(f"{_count(len(found.problems), 'forbidden import')} in {args.path}", file=sys.stderr)
        return 1
    if not found.files:
        print(f"error: no Python file under {args.path}", file=sys.stderr)
        return 1
    print(f"OK: {args.path} imports only {PUBLIC_API} ({_count(found.files, 'file')} read)")
    return 0


def cmd_plugins_new(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.scaffold import new_plugin, plugin_names

    target = Path(args.dir or plugin_names(args.name).distribution)
    for path in new_plugin(args.name, target):
        print(path)
    print(
        f"next: cd {target} && pip install -e '.[test]' && pytest && artifortress plugins check ."
    )
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import TokenPolicy, issue_token
    from artifortress.auth.users import ensure_user

    def run(db: Session, caller: Caller) -> str:
        user = ensure_user(db, caller.principal.tenant_id, args.user, is_admin=args.admin)
        policy = TokenPolicy(settings.token_default_ttl_days, settings.token_max_ttl_days)
        token, secret = issue_token(
            db,
            caller,
            user,
            policy,
            name=args.name,
            ttl_days=args.ttl_days,
            read_only=args.read_only,
            repo_scopes=args.repos,
        )
        print(
            f"token {token.key_id} for {user.name}{' (admin)' if user.is_admin else ''}, "
            f"expires {token.expires_at:%Y-%m-%d}",
            file=sys.stderr,
        )
        return secret

    print(_as_operator(settings, run))
    return 0


def cmd_revoke_token(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import revoke_token

    def run(db: Session, caller: Caller) -> str:
        return revoke_token(db, caller, args.token_id).key_id

    print(f"revoked {_as_operator(settings, run)}")
    return 0


def cmd_list_tokens(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.auth.services import list_tokens, token_to_json
    from artifortress.auth.users import get_user

    def run(db: Session, caller: Caller) -> list[str]:
        user = get_user(db, caller.principal.tenant_id, args.user)
        return [
            "{id}\t{name}\texpires {expires_at}\trevoked {revoked_at}".format(**token_to_json(t))
            for t in list_tokens(db, user.id)
        ]

    print("\n".join(_as_operator(settings, run)) or "no tokens")
    return 0


def _rbac_command(name: str) -> Callable[[Settings, argparse.Namespace], int]:
    """Run ``artifortress.rbac.command.<name>`` as the operator and print its line."""

    def command(settings: Settings, args: argparse.Namespace) -> int:
        from artifortress.rbac import command as rbac_command

        action = getattr(rbac_command, name)
        print(_as_operator(settings, lambda db, caller: action(db, caller, args)))
        return 0

    return command


def cmd_repo_create(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.plugin_manager import collect_formats, make_plugin_manager
    from artifortress.repos.services import create_repo

    formats = collect_formats(make_plugin_manager())

    def run(db: Session, caller: Caller) -> str:
        repo = create_repo(
            db,
            caller,
            formats,
            key=args.key,
            format=args.format,
            public=args.public,
            description=args.description,
        )
        return f"created {repo.format} repository {repo.key}"

    print(_as_operator(settings, run))
    return 0


def cmd_repo_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from artifortress.repos.models import Repository

    _prepare_database(settings)
    with _session(settings) as db:
        for repo in db.scalars(select(Repository).order_by(Repository.key)):
            print(f"{repo.key}\t{repo.format}\t{'public' if repo.public else 'private'}")
    return 0


def cmd_gc(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.gc.command import run

    _prepare_database(settings)
    report = run(settings, dry_run=args.dry_run, client_addr=f"cli:{_os_user()}")
    print(report.summary())
    return 0


def cmd_blobs_reap(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.blobs.command import run_reap, summary

    _prepare_database(settings)
    print(summary(run_reap(settings, client_addr=f"cli:{_os_user()}")))
    return 0


#: ``artifortress scrub`` found a corrupt or missing blob (1 means it could not run).
EXIT_DAMAGED = 3


def cmd_scrub(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from artifortress.blobs.command import run_scrub

    _prepare_database(settings)
    report = run_scrub(
        settings,
        dry_run=args.dry_run,
        remove_orphans=args.remove_orphans,
        client_addr=f"cli:{_os_user()}",
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for line in report.details():
            print(line)
        print(report.summary())
    return 0 if report.healthy else EXIT_DAMAGED


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.outbox.command import run

    _prepare_database(settings)
    print(run(settings, drain=args.drain).summary(), flush=True)
    return 0


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.search.command import run

    _prepare_database(settings)
    print(f"indexed {run(settings, recreate=args.recreate)} packages")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.db.backup import run

    print(run(settings, args.dest, blobs=args.blobs).summary())
    return 0


def _session(settings: Settings) -> Session:
    from artifortress.db.engine import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))()


def _as_operator(settings: Settings, action: Callable[[Session, Caller], T]) -> T:
    """Run *action* in one transaction, audited as the CLI operator of the default tenant."""
    from artifortress.auth.principal import Caller, Principal
    from artifortress.tenants.services import get_or_create_tenant

    _prepare_database(settings)
    with _session(settings) as db, db.begin():
        tenant = get_or_create_tenant(db)
        caller = Caller(Principal.operator(tenant.id), client_addr=f"cli:{_os_user()}")
        return action(db, caller)


def _os_user() -> str:
    """Who runs the CLI, for the audit log; containers often run a UID without a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
