"""Turning a plugin's own protocol errors into the core's, so one error path renders them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from artifortress.errors import (
    ArtifortressError,
    BadGateway,
    BadRequest,
    Conflict,
    GatewayTimeout,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServiceUnavailable,
    UnsupportedMediaType,
)

_BY_STATUS: dict[int, type[ArtifortressError]] = {
    400: BadRequest,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    502: BadGateway,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}


def error_for_status(message: str, status: int) -> ArtifortressError:
    """The core error for an HTTP *status* (the closest class, with that exact status).

    A status without a class of its own is a client's error below 500
    (``bad_request``) and the server's from 500 on (``internal_error``).
    """
    fallback = BadRequest if status < 500 else ArtifortressError
    error = _BY_STATUS.get(status, fallback)(message)
    error.status = status
    return error


@contextmanager
def raised_as(*error_types: type[Exception]) -> Iterator[None]:
    """Re-raise *error_types* (which carry ``message`` and ``status``) as core errors.

    Pure protocol modules keep their own small error class; the Falcon glue
    wraps calls into them with ``with raised_as(NpmError): ...`` so that every
    refusal goes through the format's error renderer with its status and text.
    """
    try:
        yield
    except error_types as exc:
        message = str(getattr(exc, "message", exc))
        raise error_for_status(message, int(getattr(exc, "status", 400))) from None
