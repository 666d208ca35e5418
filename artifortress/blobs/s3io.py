"""boto3 plumbing of the S3 store: the client, error codes, streamed object bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from artifortress.blobs.store import CHUNK_SIZE, BlobStoreUnavailable, describe_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def make_client(endpoint_url: str, region: str, max_connections: int) -> S3Client:
    """A thread-safe boto3 client with short connect timeouts, so an outage fails fast."""
    config = Config(
        connect_timeout=3,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=max_connections,
        # SigV4 everywhere, presigned URLs included (botocore may pick V2 for those).
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or session.region_name or "us-east-1",
        config=config,
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Stream:
    """An S3 object body streamed in bounded chunks; failures mid-way become 503s."""

    def __init__(self, body: Any, kind: str) -> None:
        self._body = body
        self._kind = kind

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body.iter_chunks(CHUNK_SIZE)
        except (BotoCoreError, OSError) as exc:
            reason = f"reading a blob failed ({describe_error(exc)})"
            raise BlobStoreUnavailable(self._kind, reason) from exc

    def close(self) -> None:
        self._body.close()
