"""HTTP to upstreams: one urllib3 pool per process, bounded waits, retries, streaming bodies.

Every fetch has a deadline: an upstream that accepts no connection or sends
no answer fails the fetch within ``connect + read`` timeout (retries
included), and a stalled body within one read timeout.  Idempotent GETs are
retried on connection failures and 502/503/504, with backoff, while time
remains.  An upstream that could not be reached, did not answer in time or
still answered 502/503/504 after the retries (a front proxy of one that is
down) is not asked again for :data:`DOWN_FOR` seconds: requests fail at once
meanwhile (and cached copies are served at once), instead of each waiting
out the timeouts and retries of an outage.  Credentials go to the upstream's own origin only
(never to a file host its metadata points at) and appear in no message:
errors name the host.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)

from artifortress.remote.addresses import AddressRefused, guarded_pool
from artifortress.remote.errors import UpstreamUnavailable
from artifortress.repos.upstreams import Upstream

log = logging.getLogger("artifortress.remote")

#: Statuses worth another try: the upstream's proxy or itself is briefly unwell.
RETRY_STATUSES = frozenset({502, 503, 504})
#: Bytes read from an upstream at a time (memory per fetch stays at this).
CHUNK_SIZE = 1024 * 1024
_FIRST_BACKOFF = 0.1
#: Seconds an upstream that timed out, refused connections or kept failing (5xx) is left alone.
DOWN_FOR = 10.0


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """``ARTIFORTRESS_UPSTREAM_CONNECT_TIMEOUT``, ``_READ_TIMEOUT`` and ``_RETRIES``."""

    connect: float
    read: float
    retries: int

    @property
    def answer(self) -> float:
        """The longest an upstream may take to answer a request, retries included."""
        return self.connect + self.read


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Basic auth for the upstream's origin; ``repr`` never shows the password."""

    username: str
    password: str = dataclasses.field(repr=False)


def host_of(url: str) -> str:
    """``host[:port]`` of *url*: what messages and logs name (never user information)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def without_credentials(url: str) -> str:
    """*url* without user information: what may be recorded and shown (provenance)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def credentials_for(upstream: Upstream, url: str) -> Credentials | None:
    """The upstream's credentials, for its own origin only (never a file host it points at)."""
    if upstream.username is None or not same_origin(url, upstream.url):
        return None
    return Credentials(upstream.username, upstream.password or "")


class UpstreamResponse:
    """An upstream's answer: status, headers, and a body read in chunks once."""

    def __init__(
        self,
        url: str,
        raw: urllib3.BaseHTTPResponse,
        deadline: float | None,
        *,
        decode: bool = True,
    ) -> None:
        self.url = url
        self._raw = raw
        self._deadline = deadline
        self._decode = decode
        self._finished = False

    @property
    def status(self) -> int:
        return self._raw.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._raw.headers

    @property
    def size(self) -> int | None:
        """The body's length as announced, unless it is decoded from an encoding (then unknown)."""
        encoded = self.headers.get("Content-Encoding", "identity").lower() != "identity"
        if encoded and self._decode:
            return None
        length = self.headers.get("Content-Length", "")
        return int(length) if length.isdigit() else None

    def chunks(self) -> Iterator[bytes]:
        """The body; a broken, stalled or late body raises :class:`UpstreamUnavailable`."""
        host = host_of(self.url)
        try:
            while True:
                self._bound_next_read(host)
                chunk = self._read_some()
                if not chunk:
                    self._finished = True
                    return
                yield chunk
        except ReadTimeoutError:
            raise UpstreamUnavailable(host, f"upstream {host} stalled while sending") from None
        except (HTTPError, OSError) as exc:
            raise UpstreamUnavailable(
                host, f"upstream {host} broke off while sending ({type(exc).__name__})"
            ) from None

    def _read_some(self) -> bytes:
        """What has arrived, up to a chunk (waiting for some); a file's bytes as they come.

        A file's body is read with one receive at a time (``read1``): a whole
        chunk would wait for a megabyte, however slowly an upstream drips it,
        and bytes that have arrived would wait with it.  A body to decode
        (metadata, read whole) is read in whole chunks.
        """
        if self._decode:
            return self._raw.read(CHUNK_SIZE, decode_content=True)
        return self._raw.read1(CHUNK_SIZE, decode_content=False)

    def read(self, limit: int) -> bytes:
        """The whole body, at most *limit* bytes (a larger one is an error)."""
        body = bytearray()
        for chunk in self.chunks():
            body += chunk
            if len(body) > limit:
                host = host_of(self.url)
                raise UpstreamUnavailable(host, f"upstream {host} sent more than {limit} bytes")
        return bytes(body)

    def close(self) -> None:
        """Give the connection back to the pool, or drop it if the body was not read to its end."""
        if not self._finished:
            self._raw.close()  # unread bytes would garble the next request on it
        self._raw.release_conn()

    def _bound_next_read(self, host: str) -> None:
        """Past the deadline, fail; else let the socket wait no longer than what remains."""
        if self._deadline is None:
            return
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise UpstreamUnavailable(host, f"upstream {host} did not finish sending in time")
        sock = getattr(self._raw.connection, "sock", None)
        if sock is not None:
            sock.settimeout(min(remaining, sock.gettimeout() or remaining))


class UpstreamClient:
    """GETs to upstreams through one connection pool per process."""

    def __init__(
        self,
        timeouts: Timeouts,
        pool: urllib3.PoolManager | None = None,
        *,
        allow_private: bool = True,
    ) -> None:
        self.timeouts = timeouts
        # Redirects are followed (Authorization is dropped on a change of host),
        # failures are retried here, where the deadline is known.
        redirects_only = urllib3.Retry(total=5, connect=0, read=0, status=0, other=0, redirect=5)
        self._pool = pool or guarded_pool(
            allow_private, num_pools=32, maxsize=16, retries=redirects_only
        )
        self._down: dict[str, tuple[float, str]] = {}  # host -> (since, reason)
        self._down_lock = threading.Lock()

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        credentials: Credentials | None = None,
        whole_deadline: bool = True,
        decode: bool = True,
    ) -> UpstreamResponse:
        """GET *url*; its headers arrive within ``connect + read`` timeout or it fails.

        *whole_deadline* extends that bound to the whole body (metadata);
        without it (files of any size) each read of the body waits at most
        the read timeout. *decode* undoes a ``Content-Encoding`` (metadata);
        without it (files) the body is the bytes sent, as pip keeps them: a
        server that labels a ``.tar.gz`` ``Content-Encoding: gzip`` still
        gives the file its index hashed, and a small compressed body never
        becomes a huge file. Raises :class:`UpstreamUnavailable`.
        """
        sent = dict(headers or {})
        if credentials is not None:
            sent.update(
                urllib3.make_headers(basic_auth=f"{credentials.username}:{credentials.password}")
            )
        deadline = time.monotonic() + self.timeouts.answer
        raw = self._answer(url, sent, deadline, decode)
        return UpstreamResponse(url, raw, deadline if whole_deadline else None, decode=decode)

    def _answer(
        self, url: str, headers: dict[str, str], deadline: float, decode: bool
    ) -> urllib3.BaseHTTPResponse:
        host = host_of(url)
        self._refuse_if_down(host)
        for attempt in range(self.timeouts.retries + 1):
            last = attempt == self.timeouts.retries
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                raw = self._pool.request(
                    "GET",
                    url,
                    headers=headers,
                    preload_content=False,
                    decode_content=decode,
                    timeout=urllib3.Timeout(
                        total=remaining,
                        connect=min(self.timeouts.connect, remaining),
                        read=min(self.timeouts.read, remaining),
                    ),
                )
            except AddressRefused as exc:  # the URL's or a redirect's: asking again cannot help
                raise UpstreamUnavailable(host, f"upstream {host} refused: {exc}") from None
            except HTTPError as exc:
                reason = _reason(exc)
                if last or not _retryable(exc):
                    self._mark_down_after(exc, host, reason)
                    raise UpstreamUnavailable(host, f"upstream {host} {reason}") from None
                log.info("upstream %s %s; retrying", host, reason)
            else:
                if raw.status not in RETRY_STATUSES:
                    return raw
                if last:
                    # Still failing after the retries: as down as an upstream that
                    # refuses connections (often a front proxy whose upstream is).
                    self._mark_down(host, f"answered {raw.status} to every try")
                    return raw
                raw.drain_conn()
                log.info("upstream %s answered %s; retrying", host, raw.status)
            time.sleep(min(_FIRST_BACKOFF * 2**attempt, max(0.0, deadline - time.monotonic())))
        reason = f"did not answer within {self.timeouts.answer:g}s"
        self._mark_down(host, reason)
        raise UpstreamUnavailable(host, f"upstream {host} {reason}")

    def _refuse_if_down(self, host: str) -> None:
        with self._down_lock:
            since, reason = self._down.get(host, (0.0, ""))
        ago = time.monotonic() - since
        if ago < DOWN_FOR:
            raise UpstreamUnavailable(
                host,
                f"upstream {host} {reason} {ago:.0f}s ago; it is asked again "
                f"{DOWN_FOR - ago:.0f}s from now",
            )

    def _mark_down_after(self, exc: HTTPError, host: str, reason: str) -> None:
        """Remember an upstream that timed out or could not be reached (not one that erred)."""
        if isinstance(_cause(exc), (ConnectTimeoutError, ReadTimeoutError)):
            self._mark_down(host, reason)

    def _mark_down(self, host: str, reason: str) -> None:
        log.warning("upstream %s %s: left alone for %gs", host, reason, DOWN_FOR)
        with self._down_lock:
            self._down[host] = (time.monotonic(), reason)

    def close(self) -> None:
        self._pool.clear()


def _cause(exc: HTTPError) -> BaseException:
    return exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc


def _retryable(exc: HTTPError) -> bool:
    """Connection failures only: the request never reached the upstream."""
    return isinstance(_cause(exc), ConnectTimeoutError)  # NewConnectionError is one too


def _reason(exc: HTTPError) -> str:
    """What happened, in words that name no URL (a URL could carry user information)."""
    cause = _cause(exc)
    if isinstance(cause, ReadTimeoutError):
        return "did not answer in time (read timeout)"
    if isinstance(cause, NewConnectionError):
        return "refused or could not be reached (connection failed)"
    if isinstance(cause, ConnectTimeoutError):
        return "could not be reached in time (connect timeout)"
    if isinstance(cause, ResponseError):  # what urllib3 says of too many redirects
        return "redirected too often"
    return f"failed ({type(cause).__name__})"
