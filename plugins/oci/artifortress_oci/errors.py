"""OCI error codes and the one error type of the pure modules (no core imports).

The distribution-spec's body is ``{"errors": [{"code", "message", "detail"}]}``
with one of its codes (``BLOB_UNKNOWN``, ``MANIFEST_INVALID``...). The pure
modules raise :class:`OciError`; :mod:`.rendering` turns it into the core's
error of the same status and answers every error under ``/v2/`` in the spec's shape.
"""

from __future__ import annotations

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")

BLOB_UNKNOWN = "BLOB_UNKNOWN"
BLOB_UPLOAD_INVALID = "BLOB_UPLOAD_INVALID"
BLOB_UPLOAD_UNKNOWN = "BLOB_UPLOAD_UNKNOWN"
DIGEST_INVALID = "DIGEST_INVALID"
MANIFEST_BLOB_UNKNOWN = "MANIFEST_BLOB_UNKNOWN"
MANIFEST_INVALID = "MANIFEST_INVALID"
MANIFEST_UNKNOWN = "MANIFEST_UNKNOWN"
NAME_INVALID = "NAME_INVALID"
NAME_UNKNOWN = "NAME_UNKNOWN"
SIZE_INVALID = "SIZE_INVALID"
UNAUTHORIZED = "UNAUTHORIZED"
DENIED = "DENIED"
UNSUPPORTED = "UNSUPPORTED"
TOOMANYREQUESTS = "TOOMANYREQUESTS"


class OciError(Exception):
    """A refusal of the protocol: the spec's *code*, a message, the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
