"""Count the database work a block of code does, to assert that it does not grow.

Timings are noise on a shared machine; these counts are not. A plugin's test
can upload into a package with a long history and check that the 50th upload
costs what the 5th did::

    meter = WorkMeter(services.engine)
    with meter.measure() as early:
        upload(5)
    ...
    with meter.measure() as late:
        upload(50)
    assert late.statements == early.statements and late.rows == early.rows

``rows`` counts ORM objects loaded; ``steps`` (SQLite only, 0 elsewhere)
counts the virtual machine instructions the database engine ran, so a query
that scans a growing table shows up even when it returns one row.  Work done
by the process beside the measured code (a token cache refreshing) is counted
too: compare the least of a few repetitions, not single measurements.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from artifortress.db.base import Base


@dataclasses.dataclass(order=True)
class Work:
    """What the database was asked to do while a meter measured."""

    statements: int = 0
    rows: int = 0
    steps: int = 0

    @staticmethod
    def least(works: list[Work]) -> Work:
        """Each count's minimum over repetitions of the same work."""
        return Work(
            min(w.statements for w in works),
            min(w.rows for w in works),
            min(w.steps for w in works),
        )


class WorkMeter:
    """Counts statements, loaded rows and SQLite work on *engine* inside ``measure()``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._current: Work | None = None
        self._counting: list[Any] = []  # SQLite connections with the handler on

    @contextmanager
    def measure(self) -> Iterator[Work]:
        """Count the work done inside the block (by any thread) into the yielded ``Work``."""
        work = Work()
        self._current = work
        event.listen(self._engine, "before_cursor_execute", self._on_statement)
        event.listen(Base, "load", self._on_load, propagate=True)
        try:
            yield work
        finally:
            event.remove(Base, "load", self._on_load)
            event.remove(self._engine, "before_cursor_execute", self._on_statement)
            for raw in self._counting:
                raw.set_progress_handler(None, 0)
            self._counting.clear()
            self._current = None

    def _on_statement(self, conn: Any, *_args: Any) -> None:
        if self._current is None:
            return
        self._current.statements += 1
        raw = conn.connection.dbapi_connection
        if self._engine.dialect.name == "sqlite" and raw not in self._counting:
            # Called for every instruction: exact counts, and only while measuring.
            raw.set_progress_handler(self._on_progress, 1)
            self._counting.append(raw)

    def _on_load(self, *_args: Any) -> None:
        if self._current is not None:
            self._current.rows += 1

    def _on_progress(self) -> int:
        if self._current is not None:
            self._current.steps += 1
        return 0  # carry on
