"""The one error type of the pure PyPI modules: a client-facing message and an HTTP status."""

from __future__ import annotations


class PypiError(Exception):
    """A refusal worded for the client (twine shows the reason phrase) with the HTTP status to send.

    The pure modules raise only this; the Falcon glue maps it to a response whose reason
    phrase and body both carry ``message``, as warehouse does.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"PypiError({self.message!r}, {self.status})"


class PayloadTooLarge(PypiError):
    """The request body (or its form fields) exceeds a configured bound: HTTP 413."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 413)
