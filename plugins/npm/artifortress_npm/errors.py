"""The one error type of the npm plugin's pure modules, shaped the way npm shows errors.

npm-registry-fetch prints ``<status> <reason> - <METHOD> <url> - <body.error>``, so the
message goes into ``{"error": message}`` and the status is the HTTP status to answer with.
"""

from __future__ import annotations

import json


class NpmError(Exception):
    """A refusal with a client-facing message and the HTTP status that carries it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        """Return the JSON body npm expects: ``{"error": message}``."""
        return {"error": self.message}

    def body_bytes(self) -> bytes:
        """Return :meth:`body` serialized as compact UTF-8 JSON."""
        return json.dumps(self.body(), separators=(",", ":")).encode()

    def __repr__(self) -> str:
        return f"NpmError({self.message!r}, {self.status})"
