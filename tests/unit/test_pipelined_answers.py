"""Answers to pipelined requests that arrive together are all read (tests.support.pipelined).

Two e2e tests failed on a loaded machine when the second answer arrived with
the first and an ``http.client.HTTPResponse`` per answer lost it; both answers
are sent here before anything is read, the ordering that lost one.
"""

from __future__ import annotations

import socket

from tests.support.pipelined import read_answers

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"
REFUSED = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad"


def test_answers_that_arrived_together_are_each_read() -> None:
    server, client = socket.socketpair()
    with server, client:
        client.settimeout(5)
        server.sendall(CREATED + REFUSED)  # both there before the client reads a byte
        server.shutdown(socket.SHUT_WR)
        answers = read_answers(client, 2)
    assert [answer.status for answer in answers] == [201, 400]
