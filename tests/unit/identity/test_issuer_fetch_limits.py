"""A slow, trickling or failing issuer holds up nothing but its own tokens.

The issuers an exchange or a sign-in contacts are registered by admins (a repository admin
may register any ``oidc`` issuer), and anyone may present a token naming one: an issuer
that answers slowly must not stall the other issuers' validations (one process-wide lock
was held over every fetch) nor be fetched again on every request while it fails.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from artifortress.identity.id_tokens import InvalidIdToken, IssuerKeys
from artifortress.identity.issuers import DocumentFetcher, IssuerUnavailable
from tests.unit.identity.test_id_tokens import StaticIssuer, rules


class Tarpit:
    """An HTTP server on 127.0.0.1 that answers headers, then a byte of body every 0.3 s
    (or, with ``fail``, a 503 at once); counts the connections it accepted."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            if self.fail:
                conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{")
            for _ in range(100):
                if self.closed.wait(0.3):
                    return
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    served = Tarpit()
    yield served
    served.close()


@pytest.fixture
def issuer() -> Iterator[StaticIssuer]:
    served = StaticIssuer()
    served.new_key("k1")
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_a_trickled_document_is_given_up_on(tarpit: Tarpit) -> None:
    fetcher = DocumentFetcher(timeout_seconds=1)
    began = time.monotonic()
    with pytest.raises(IssuerUnavailable, match="too slowly"):
        fetcher.get_json(tarpit.url + "/.well-known/openid-configuration")
    assert time.monotonic() - began < 4


def test_a_slow_issuer_holds_up_no_other_issuer(tarpit: Tarpit, issuer: StaticIssuer) -> None:
    keys = IssuerKeys(DocumentFetcher(timeout_seconds=3), wait_seconds=0.5)
    refusals: list[str] = []

    def fetch_slowly() -> None:
        try:
            keys.metadata(tarpit.url)
        except InvalidIdToken as refused:
            refusals.append(refused.reason)

    slow = threading.Thread(target=fetch_slowly)
    slow.start()
    while tarpit.connections == 0:
        time.sleep(0.01)
    began = time.monotonic()
    assert keys.validate(issuer.sign(), rules(issuer))["sub"] == "alice"
    with pytest.raises(InvalidIdToken, match="try again shortly"):
        keys.metadata(tarpit.url)  # the same issuer: waits half a second, not for the fetch
    assert time.monotonic() - began < 2
    assert tarpit.connections == 1
    slow.join()
    assert len(refusals) == 1
    keys.close()


def test_a_failing_issuer_is_tried_at_most_once_per_interval() -> None:
    failing = Tarpit(fail=True)
    keys = IssuerKeys(refetch_interval_seconds=3600)
    try:
        for _ in range(5):
            with pytest.raises(InvalidIdToken):
                keys.metadata(failing.url)
        assert failing.connections == 1
    finally:
        keys.close()
        failing.close()
