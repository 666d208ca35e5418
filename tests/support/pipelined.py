"""The answers to pipelined requests, read from a raw socket through one buffer.

Each ``http.client.HTTPResponse(sock)`` reads the socket through a buffered
file of its own, which takes whatever has arrived: an answer that arrived
together with the one before it (a loaded machine, a slow test) was lost with
the first response's buffer, and the next response waited for bytes the
server had already sent.  Here every response reads from one buffer.
"""

from __future__ import annotations

import http.client
import io
import socket


class _KeptOpen(io.BufferedReader):
    """The connection's one buffer: ``http.client`` closes its file once a response
    is read, and the next response starts right where that one ended."""

    def close(self) -> None:
        """Left open: the socket is closed by its owner."""


class _SharedBuffer:
    """What ``http.client.HTTPResponse`` needs of a socket: a file to read from."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = _KeptOpen(socket.SocketIO(sock, "rb"))

    def makefile(self, mode: str) -> _KeptOpen:
        return self._file


def read_answers(sock: socket.socket, count: int) -> list[http.client.HTTPResponse]:
    """The next *count* responses on *sock*, each read whole."""
    shared = _SharedBuffer(sock)
    answers = []
    for _ in range(count):
        answer = http.client.HTTPResponse(shared)  # type: ignore[arg-type]
        answer.begin()
        answer.read()
        answers.append(answer)
    return answers
