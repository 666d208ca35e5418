"""How large and how slow an upstream file may be: what ends a fetch that would never end.

A file larger than ``ARTIFORTRESS_MAX_BLOB_SIZE`` is refused as soon as its
``Content-Length`` says so, or as soon as that many bytes arrived (an endless
body would fill the scratch disk).  A silent upstream fails a fetch within
the read timeout, but one that drips a byte now and then never falls silent:
once :data:`RATE_WINDOW` seconds have passed, and every window after that,
the bytes of the window must have arrived at ``ARTIFORTRESS_UPSTREAM_MIN_RATE``
bytes per second on average.  A fetch so bounded lasts at most about its
size divided by that rate, plus a window and a read timeout.
"""

from __future__ import annotations

import dataclasses
import time

from artifortress.remote.errors import UpstreamTooLarge, UpstreamUnavailable

#: Seconds over which the average rate of a file's bytes is measured (the first one too).
RATE_WINDOW = 30.0


@dataclasses.dataclass(frozen=True)
class FileBounds:
    """``ARTIFORTRESS_MAX_BLOB_SIZE`` and ``ARTIFORTRESS_UPSTREAM_MIN_RATE`` (0: no floor)."""

    max_size: int
    min_rate: int

    def refuse_announced(self, host: str, filename: str, size: int | None) -> None:
        """Raise if the upstream announces a file larger than the limit."""
        if size is not None and size > self.max_size:
            raise _too_large(host, filename, self.max_size)


class Meter:
    """Counts a file's bytes as they arrive; raises once it is too large or too slow."""

    def __init__(self, bounds: FileBounds, host: str, filename: str) -> None:
        self._bounds = bounds
        self._host = host
        self._filename = filename
        self.size = 0
        self._window_start = time.monotonic()
        self._window_bytes = 0

    def count(self, size: int) -> None:
        self.size += size
        if self.size > self._bounds.max_size:
            raise _too_large(self._host, self._filename, self._bounds.max_size)
        self._window_bytes += size
        elapsed = time.monotonic() - self._window_start
        if elapsed < RATE_WINDOW:
            return
        rate = self._window_bytes / elapsed
        if rate < self._bounds.min_rate:
            raise UpstreamUnavailable(
                self._host,
                f"upstream {self._host} sent {self._filename} at {rate:.0f} bytes/s, slower "
                f"than the {self._bounds.min_rate} bytes/s a file must arrive at; "
                "nothing was stored",
            )
        self._window_start, self._window_bytes = time.monotonic(), 0


def _too_large(host: str, filename: str, limit: int) -> UpstreamTooLarge:
    return UpstreamTooLarge(
        host,
        f"the upstream's file is larger than the limit ({limit} bytes, "
        f"ARTIFORTRESS_MAX_BLOB_SIZE): {filename} from {host} was not stored",
    )
