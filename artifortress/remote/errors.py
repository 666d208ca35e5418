"""What goes wrong with an upstream, as the core's errors: each names the upstream's host.

Messages never carry credentials: they name the host (``pypi.org``), never
a URL's user information or the ``Authorization`` sent.
"""

from __future__ import annotations

from typing import Any

from artifortress.errors import ArtifortressError, PermissionDenied


class UpstreamError(ArtifortressError):
    """The upstream of a remote repository could not give what was asked (502)."""

    code = "upstream_error"
    status = 502

    def __init__(self, host: str, message: str, **details: Any) -> None:
        super().__init__(message, upstream=host, **details)
        self.host = host


class UpstreamUnavailable(UpstreamError):
    """The upstream did not answer in time, failed (5xx) or broke off; nothing was cached."""

    code = "upstream_unavailable"


class UpstreamMismatch(UpstreamError):
    """The upstream's bytes do not match the checksum its metadata announced; nothing stored."""

    code = "upstream_mismatch"


class UpstreamTooLarge(UpstreamError):
    """The upstream's file is larger than ``ARTIFORTRESS_MAX_BLOB_SIZE``; nothing was stored."""

    code = "upstream_too_large"


class HeldByPolicy(PermissionDenied):
    """A version fetched from upstream is held in quarantine by a repository policy."""

    code = "held_by_policy"
