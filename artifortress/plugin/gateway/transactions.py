"""Transaction boundaries, owned by the core: plugins declare, the Gateway chooses.

A responder declared ``@requires(..., publishes=True)`` ends its authorization's
transaction before the body streams in and reads in reading transactions (SQLite:
deferred ``BEGIN``, which waits for no writer) until its first change; every
Gateway method that changes something is marked :func:`writes` and begins the
write transaction there.  ``end_transaction()`` and ``reading()``, with which
plugins did this themselves, stay for plugins written against API 1.0 and warn.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

from artifortress.db.engine import sqlite_reads_only
from artifortress.http.context import RequestContext
from artifortress.plugin.api_version import API_VERSION_INFO
from artifortress.plugin.gateway.base import GatewayBase

P = ParamSpec("P")
R = TypeVar("R")
G = TypeVar("G", bound=GatewayBase)


def writes(method: Callable[Concatenate[G, P], R]) -> Callable[Concatenate[G, P], R]:
    """Mark a Gateway method that changes something: it runs in the write transaction."""

    @functools.wraps(method)
    def call(self: G, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self._ctx.begin_writing()
        return method(self, *args, **kwargs)

    return call


@contextlib.contextmanager
def reading_transaction(ctx: RequestContext) -> Iterator[None]:
    """A transaction of its own that only reads: on SQLite it waits for no writer."""
    ctx.end_transaction()
    reads_only = sqlite_reads_only.set(True)
    try:
        yield
    finally:
        sqlite_reads_only.reset(reads_only)
        ctx.end_transaction()


class TransactionsGateway(GatewayBase):
    """The deprecated ways plugins managed transactions themselves (API 1.0)."""

    def end_transaction(self) -> None:
        """Deprecated: declare ``@requires(..., publishes=True)`` instead.

        Commits what the request did so far (its authorization).
        """
        _deprecated("end_transaction()")
        self._ctx.end_transaction()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Deprecated: declare ``@requires(..., publishes=True)`` instead.

        A block in a transaction of its own that only reads.
        """
        _deprecated("reading()", stacklevel=4)  # through contextlib's __enter__
        with reading_transaction(self._ctx):
            yield


def _deprecated(name: str, stacklevel: int = 3) -> None:
    warnings.warn(
        f"Gateway.{name} is deprecated: declare @requires(..., publishes=True) on the "
        "responder and the core chooses its transactions; it goes away in plugin API "
        f"{API_VERSION_INFO[0] + 1}.0.0",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
