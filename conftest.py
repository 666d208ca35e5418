"""Suite-wide guard: a test that makes the application log an unhandled error fails.

Every 500 is a bug (the server's own output is checked the same way by
``ServerProcess``); a test that provokes one on purpose says so with
``@pytest.mark.provokes_traceback``.

The S3 fixtures (``moto_s3``, ``s3_blob_settings``, ``blob_settings``) come
from ``tests.support.s3``: the core's own test support, not the plugin
author's kit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.support.s3"]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(autouse=True)
def _no_unhandled_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    errors = _Errors()
    logger = logging.getLogger("artifortress")
    logger.addHandler(errors)
    try:
        yield
    finally:
        logger.removeHandler(errors)
    if errors.records and request.node.get_closest_marker("provokes_traceback") is None:
        first = errors.records[0]
        pytest.fail(
            f"the application logged an unhandled error: {first.getMessage()}\n"
            f"{logging.Formatter().formatException(first.exc_info)}",  # type: ignore[arg-type]
            pytrace=False,
        )
