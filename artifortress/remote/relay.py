"""A file sent to the client that asked for it while it is fetched, kept only once verified.

The fetching request answers with a :class:`Relay` as its response body: each
chunk from upstream goes to the scratch file and the hashes, and on to the
client.  The last byte is held back until the whole file is verified,
stored and published, so a client never receives a complete body that was
not kept: on a mismatch or a broken upstream the response ends short and
the client fails, as it would on a broken connection.  If the client goes
away, the fetch still runs to its end when the server closes the body, so
the requests waiting for it get the file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from artifortress.blobs.heldfiles import scratch_file
from artifortress.errors import ServiceUnavailable
from artifortress.remote.singleflight import Claim

if TYPE_CHECKING:
    from artifortress.versions.views import VersionInfo

log = logging.getLogger("artifortress.remote")


class Relay:
    """A WSGI response body: the upstream's chunks, then the fetch's outcome for the others."""

    def __init__(
        self,
        receive: Callable[[Path], Iterator[bytes]],
        keep: Callable[[Path], VersionInfo],
        claim: Claim[VersionInfo],
        *,
        size: int | None,
    ) -> None:
        self._receive = receive
        self._keep = keep
        self._claim = claim
        #: The body's length, if the upstream announced it.
        self.size = size
        self._chunks: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._relay()
        return self._chunks

    def close(self) -> None:
        """End of the response: a fetch its client left unfinished still runs to its end."""
        try:
            for _chunk in self:
                pass
        except Exception as exc:  # already handed to the waiting requests by _relay
            log.info("fetch abandoned by its client ended in error: %s", exc)

    def _relay(self) -> Iterator[bytes]:
        held = b""  # the body's last byte so far: it goes out once the file is kept
        try:
            with scratch_file() as path:
                for chunk in self._receive(path):
                    if chunk:
                        yield held + chunk[:-1]
                        held = chunk[-1:]
                published = self._keep(path)
        except BaseException as exc:
            # Those waiting get what went wrong (an interruption, as a 503 to retry).
            self._claim.finish(error=exc if isinstance(exc, Exception) else _interrupted())
            raise
        self._claim.finish(published)
        yield held


def _interrupted() -> ServiceUnavailable:
    return ServiceUnavailable("the upstream fetch this request waited for was interrupted; retry")
