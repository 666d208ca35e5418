"""What the commands share: the database session, the operator's identity, short phrases."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from sqlalchemy import exc as sa_exc

from artifortress.errors import ArtifortressError, ConfigurationError
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.auth.principal import Caller

T = TypeVar("T")
#: The ``sub`` of ``parser.add_subparsers()``, to which each command module adds its commands.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def prepare_database(settings: Settings, *, create: bool = False) -> None:
    """Migrate the embedded database; refuse an outdated external one.

    Only *create* (``serve``) may create a missing embedded database: any other
    command that finds none is most likely run with another home than the
    server's, and would print tokens the server does not know.
    """
    from artifortress.db import migrate
    from artifortress.db.engine import make_engine

    if not create:
        require_existing_database(settings)
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


def require_existing_database(settings: Settings) -> None:
    """Refuse to open an embedded database file that does not exist (SQLite would create it)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if Path(url.database).exists():
        return
    home = f"{settings.home}" + (
        f" (the default ./var, relative to the current folder {Path.cwd()})"
        if home_is_default(settings)
        else ""
    )
    raise ConfigurationError(
        f"no Artifortress database at {url.database}; ARTIFORTRESS_HOME is {home}. Run this "
        "command where `artifortress serve` runs or with the ARTIFORTRESS_HOME its start-up "
        "lines show; to start a new installation here, run `artifortress serve` or "
        "`artifortress db upgrade` first"
    )


def home_is_default(settings: Settings) -> bool:
    """Whether a command run from this folder without ARTIFORTRESS_HOME finds the same home."""
    return settings.home == Path("var").resolve()


def cli_prefix(settings: Settings) -> str:
    """The start of a command line that reaches this instance's embedded database."""
    import shlex

    words = []
    if not home_is_default(settings):
        words.append(f"ARTIFORTRESS_HOME={shlex.quote(str(settings.home))}")
    program = sys.argv[0] if Path(sys.argv[0]).name == "artifortress" else "artifortress"
    words.append(shlex.quote(program))
    config = os.environ.get("ARTIFORTRESS_CONFIG")
    if config:
        words.append(f"--config {shlex.quote(str(Path(config).resolve()))}")
    return " ".join(words)


def session(settings: Settings) -> Session:
    from artifortress.db.engine import make_engine, make_session_factory
    from artifortress.secretbox import session_info

    engine = make_engine(settings.database_url)
    return make_session_factory(engine, info=session_info(settings))()


def as_operator(settings: Settings, action: Callable[[Session, Caller], T]) -> T:
    """Run *action* in one transaction, audited as the CLI operator of the default tenant."""
    from artifortress.auth.principal import Caller, Principal
    from artifortress.tenants.services import get_or_create_tenant

    prepare_database(settings)
    with session(settings) as db, db.begin():
        tenant = get_or_create_tenant(db)
        caller = Caller(Principal.operator(tenant.id), client_addr=f"cli:{os_user()}")
        return action(db, caller)


def os_user() -> str:
    """Who runs the CLI, for the audit log; containers often run a UID without a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def guarded(settings: Settings, command: Callable[[], int]) -> int:
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
        print(f"error: cannot reach the database {safe_url(settings)}: {reason}", file=sys.stderr)
        return 1
