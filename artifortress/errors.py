"""The domain error hierarchy.

Every error the core raises on purpose is an :class:`ArtifortressError` with a
stable machine-readable ``code`` and the HTTP status it maps to.  The mapping to
HTTP happens in exactly one place (``artifortress.http.errors``); format
plugins may render the same errors in their own protocol.
"""

from __future__ import annotations

from typing import Any


class ArtifortressError(Exception):
    """Base of every deliberate error; carries a stable code and an HTTP status."""

    code: str = "internal_error"
    status: int = 500
    #: Extra response headers (e.g. ``Retry-After``) a mapping should send.
    headers: dict[str, str]

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = {}


class BadRequest(ArtifortressError):
    code = "bad_request"
    status = 400


class ValidationFailed(BadRequest):
    code = "validation_failed"


class Unauthenticated(ArtifortressError):
    """No credentials, or credentials that do not authenticate."""

    code = "unauthenticated"
    status = 401


class PermissionDenied(ArtifortressError):
    """Authenticated, but the principal lacks the permission."""

    code = "permission_denied"
    status = 403


class PolicyRejected(PermissionDenied):
    """A repository policy refused a publish (size, license, name); nothing was stored.

    A kind of :class:`PermissionDenied`, so refused publishes are audited as such.
    """

    code = "policy_rejected"


class NotFound(ArtifortressError):
    code = "not_found"
    status = 404


class MethodNotAllowed(ArtifortressError):
    code = "method_not_allowed"
    status = 405


class Conflict(ArtifortressError):
    code = "conflict"
    status = 409


class Gone(ArtifortressError):
    code = "gone"
    status = 410


class PayloadTooLarge(ArtifortressError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(ArtifortressError):
    code = "unsupported_media_type"
    status = 415


class RangeNotSatisfiable(ArtifortressError):
    code = "range_not_satisfiable"
    status = 416


class ServiceUnavailable(ArtifortressError):
    """A backing service (database, blob store, search) is unreachable."""

    code = "service_unavailable"
    status = 503

    def __init__(self, message: str, retry_after: int = 5, **details: Any) -> None:
        super().__init__(message, **details)
        self.headers["Retry-After"] = str(retry_after)


class BadGateway(ArtifortressError):
    """A service the answer depends on (a plugin's upstream) failed or answered nonsense."""

    code = "upstream_unavailable"
    status = 502


class GatewayTimeout(ArtifortressError):
    """A service the answer depends on (a plugin's upstream) did not answer in time."""

    code = "upstream_timeout"
    status = 504


class ConfigurationError(Exception):
    """A setting is invalid; raised at start-up, names the variable to fix."""
