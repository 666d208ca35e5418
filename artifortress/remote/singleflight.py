"""One upstream fetch per (repository, key), however many threads, processes and nodes ask.

Threads of one process wait on the leader's event and share its result or
error.  Across processes and nodes the leader holds a lease
(:mod:`~artifortress.remote.leases`: a file lock on SQLite, a row on
PostgreSQL); the others poll for the result the leader commits, within a
bounded wait.  A leader that dies loses its lease (the kernel drops its lock,
its row expires) and the next asker takes it over.  Before fetching, a new leader
looks once more for a result (one may have been committed since the caller
looked), so a fetch that just finished elsewhere is not repeated.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from artifortress.errors import ServiceUnavailable
from artifortress.remote.leases import Lease, Leases

T = TypeVar("T")


@dataclasses.dataclass
class _Flight:
    """One in-process fetch that other threads wait for."""

    #: Set once the result (or error) is there: when shared, or when the flight lands.
    ready: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class Claim(Generic[T]):
    """The outcome of asking for a key: its result already, or the duty to produce it.

    A claim with a ``lease`` belongs to the one leader of the key: it must
    call :meth:`finish` exactly once, with the result or the error, which the
    threads waiting on it receive unless :meth:`share` gave them a result
    already (and which ends the lease, unless the transaction committing the
    result ended it: ``Lease.release_in``).
    """

    def __init__(
        self,
        result: T | None = None,
        lease: Lease | None = None,
        finish: Callable[[T | None, BaseException | None], None] | None = None,
        share: Callable[[T], None] | None = None,
    ) -> None:
        self.result = result
        self.lease = lease
        self._finish = finish
        self._share = share

    def finish(self, result: T | None = None, error: BaseException | None = None) -> None:
        if self._finish is None:
            raise RuntimeError("only the claim holding the lease produces the result")
        self._finish(result, error)

    def share(self, result: T) -> None:
        """Give *result* to this process's askers now, before it is committed.

        The flight stays open (later askers get *result* at once) and the lease
        held until :meth:`finish`: other processes wait for the commit.
        """
        if self._share is None:
            raise RuntimeError("only the claim holding the lease produces the result")
        self._share(result)


class SingleFlight:
    """Runs each (repository, key)'s fetch once at a time, sharing its outcome."""

    def __init__(self, leases: Leases, *, poll_interval: float = 0.05) -> None:
        self._leases = leases
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._flights: dict[tuple[int, str], _Flight] = {}

    def run(
        self,
        repository_id: int,
        key: str,
        *,
        produce: Callable[[Lease], T],
        settled: Callable[[], T | None],
        lease_seconds: float,
        max_wait: float,
    ) -> T:
        """*produce*'s result, by this call or by the one already under way.

        *settled* looks for a result another process committed (``None``: not
        yet); *max_wait* bounds the wait for others (then 503).
        """
        claim = self.claim(
            repository_id, key, settled=settled, lease_seconds=lease_seconds, max_wait=max_wait
        )
        if claim.lease is None:
            return cast(T, claim.result)
        try:
            result = produce(claim.lease)
        except BaseException as exc:
            claim.finish(error=exc)
            raise
        claim.finish(result)
        return result

    def claim(
        self,
        repository_id: int,
        key: str,
        *,
        settled: Callable[[], T | None],
        lease_seconds: float,
        max_wait: float,
    ) -> Claim[T]:
        """The key's result if another thread, process or node produced it; else the lease."""
        flight_key = (repository_id, key)
        flight, leads = self._join(flight_key)
        if not leads:
            return Claim(result=cast(T, self._follow(flight, max_wait)))

        def land(result: T | None, error: BaseException | None) -> None:
            if not flight.ready.is_set():  # a shared result stays what the askers got
                flight.result, flight.error = result, error
            with self._lock:
                del self._flights[flight_key]
            flight.ready.set()

        def share(result: T) -> None:
            flight.result = result
            flight.ready.set()

        try:
            result, lease = self._lead(repository_id, key, settled, lease_seconds, max_wait)
        except BaseException as exc:
            land(None, exc)
            raise
        if lease is None:
            land(result, None)
            return Claim(result=result)

        def finish(result: T | None, error: BaseException | None) -> None:
            try:
                lease.release()
            finally:
                land(result, error)

        return Claim(lease=lease, finish=finish, share=share)

    def _join(self, flight_key: tuple[int, str]) -> tuple[_Flight, bool]:
        with self._lock:
            flight = self._flights.get(flight_key)
            if flight is not None:
                return flight, False
            flight = self._flights[flight_key] = _Flight()
            return flight, True

    def _follow(self, flight: _Flight, max_wait: float) -> object:
        if not flight.ready.wait(max_wait):
            raise _still_fetching()
        if flight.error is not None:
            raise flight.error
        return flight.result

    def _lead(
        self,
        repository_id: int,
        key: str,
        settled: Callable[[], T | None],
        lease_seconds: float,
        max_wait: float,
    ) -> tuple[T | None, Lease | None]:
        """Another's result, or the lease (and ``None``) once it is ours and nothing is yet."""
        deadline = time.monotonic() + max_wait
        while True:
            lease = self._leases.lease(repository_id, key, lease_seconds)
            if lease.acquire():
                try:
                    found = settled()  # committed while we asked for the lease
                except BaseException:
                    lease.release()
                    raise
                if found is None:
                    return None, lease
                lease.release()
                return found, None
            found = self._await_other(repository_id, key, settled, deadline)
            if found is not None:
                return found, None
            # The holder ended (or died) without a result: take over.

    def _await_other(
        self, repository_id: int, key: str, settled: Callable[[], T | None], deadline: float
    ) -> T | None:
        """Poll until the holder's result appears (it), or its lease ends (``None``)."""
        while time.monotonic() < deadline:
            found = settled()
            if found is not None:
                return found
            if not self._leases.held(repository_id, key):
                return settled()
            time.sleep(self._poll_interval)
        raise _still_fetching()


def _still_fetching() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the upstream fetch another request started is still under way; retry shortly"
    )
