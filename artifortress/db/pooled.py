"""One statement read on a pooled connection, outside any session: the hot lookups of cached reads.

A cached page or a small download needs one row (a change counter, a file's
digest). Through a session (begin, connection, commit, close) that row cost
ten times the statement itself. A :class:`PooledRead` compiles its statement
once for the engine's dialect and runs it on a pooled DBAPI connection, with
no transaction of its own (SQLite runs it in autocommit; the pool ends
PostgreSQL's on return). Values come back as a session would return them
(each column type's own conversion), and the driver's errors as SQLAlchemy's,
so a database lost mid-read answers 503 like every other read.

Only for a request that has read nothing in its session yet: one that has
must read in its own transaction, or it could see rows newer than those its
session reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError


class PooledRead:
    """*statement*, compiled for *engine*, whose first row :meth:`first` returns."""

    def __init__(self, engine: Engine, statement: Select[*tuple[Any, ...]]) -> None:
        self._engine = engine
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        #: Parameter names in order for positional paramstyles (SQLite's ``?``).
        self._order = compiled.positiontup
        #: The values the statement holds itself (``state == 'published'``).
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}
        self._converters: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]

    def first(self, **params: Any) -> tuple[Any, ...] | None:
        """The statement's first row with *params*, converted; ``None`` if it has none."""
        values = {**self._fixed, **params}
        args: Any = tuple(values[name] for name in self._order) if self._order else values
        connection = self._connect()
        try:
            row = self._fetch(connection, args)
        finally:
            connection.close()  # back to the pool, which ends the read's transaction
        if row is None:
            return None
        return tuple(
            convert(value) if convert is not None else value
            for convert, value in zip(self._converters, row, strict=True)
        )

    def _connect(self) -> Any:
        """A pooled connection; one that cannot be made raises SQLAlchemy's error (503)."""
        dialect = self._engine.dialect
        try:
            return self._engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                None,
                None,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=True,
                dialect=dialect,
            ) from exc

    def _announce(self, connection: Any, cursor: Any, args: Any) -> None:
        """Tell the engine's statement listeners, as a session's statement does.

        What counts or watches statements (metering tests, the read-decision
        cache) then sees these too; the listener gets a stand-in for the
        Connection that carries the pooled connection and its ``info``.
        """
        listeners = self._engine.dispatch.before_cursor_execute
        if listeners:
            stand_in = _Connection(connection, connection.info)
            listeners(stand_in, cursor, self._sql, args, None, False)

    def _fetch(self, connection: Any, args: Any) -> Any:
        """The first row; a dead connection is dropped from the pool, not handed out again."""
        dialect = self._engine.dialect
        cursor = connection.cursor()
        try:
            self._announce(connection, cursor, args)
            cursor.execute(self._sql, args)
            return cursor.fetchone()
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                self._sql,
                args,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from exc
        finally:
            cursor.close()


@dataclasses.dataclass(frozen=True)
class _Connection:
    """What a statement listener reads of its ``Connection``: the pooled one and its info."""

    connection: Any
    info: dict[str, Any]
