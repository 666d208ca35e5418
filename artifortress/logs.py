"""Logging set-up: readable text by default, JSON lines on request.

The request id of the request being handled is attached to every record
logged while handling it, so one grep finds everything about one request.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import datetime as dt
import json
import logging
import os
import sys
import threading
from typing import Any, TextIO

from artifortress.text import escape_unprintable

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "artifortress_request_id", default=None
)

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Set once, in the thread that logged: a queued record keeps its request's id.
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any ``extra=`` fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            # UTC with milliseconds: lines from several workers sort into one timeline.
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """One line per record, whatever the message holds; a traceback's lines are indented.

    Messages carry client text (a path with ``%0d%0a``); written raw it would
    start a line that looks like a record of its own.  So unprintable
    characters are escaped, and every line a record adds (a traceback) starts
    with spaces: only a record's first line starts at the left margin.
    """

    LAYOUT = "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"

    def __init__(self) -> None:
        super().__init__(self.LAYOUT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_unprintable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escape_unprintable(line) for line in text.splitlines())


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Send the ``artifortress`` loggers to *stream* (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger("artifortress")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    _batch_access_log(handler)


class BatchingHandler(logging.Handler):
    """Collects records and writes them through *target* a few times a second.

    ``handle`` is one ``deque.append`` (atomic, no lock, nobody woken): with
    every request thread writing and flushing its own line, a gunicorn worker
    of 8 threads spent about a sixth of its time in logging, most of it
    waiting on the handler's lock; a queue that wakes a writer per line cost
    as much in thread switches.
    """

    def __init__(self, target: logging.Handler, interval: float = 0.2) -> None:
        super().__init__()
        self._target = target
        self._interval = interval
        self._pending: collections.deque[logging.LogRecord] = collections.deque()
        self._flushing = threading.Lock()
        self._stopped = threading.Event()
        self._start()
        # A process forked from this one (gunicorn with preload_app) has no writer
        # thread and may have inherited the lock held: give the child its own.
        os.register_at_fork(after_in_child=self._after_fork)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        self._flushing = threading.Lock()
        if not self._stopped.is_set():
            self._start()

    def handle(self, record: logging.LogRecord) -> bool:
        if self.filter(record):  # sets the request id, in the request's own thread
            self._pending.append(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self._pending.append(record)

    def flush(self) -> None:
        with self._flushing:
            while self._pending:
                self._target.handle(self._pending.popleft())
            self._target.flush()

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            if self._pending:
                self.flush()


#: The access log's handler (see configure).
_access_batch: BatchingHandler | None = None


def _batch_access_log(handler: logging.Handler) -> None:
    """One line per request leaves the request thread in a batch; other records stay direct.

    Warnings and errors matter most just before a crash, so only the access
    log is batched (at most 0.2 s of it can be lost with a killed process).
    """
    global _access_batch
    if _access_batch is not None:
        _access_batch.close()
    _access_batch = BatchingHandler(handler)
    _access_batch.addFilter(_RequestIdFilter())
    access = logging.getLogger("artifortress.access")
    access.handlers[:] = [_access_batch]
    access.propagate = False


@atexit.register
def flush() -> None:
    """Write the access lines still waiting now (at exit; tests reading a log)."""
    if _access_batch is not None:
        _access_batch.flush()
