"""The protocol modules' one error class; the resources re-raise it as a core error."""

from __future__ import annotations


class GoProxyError(Exception):
    """A refusal with the HTTP status the go command should see."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
