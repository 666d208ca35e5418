"""Building the configured blob store from ``ARTIFORTRESS_BLOB_URL``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.store import BlobStore
from artifortress.errors import ConfigurationError
from artifortress.settings import PREFIX, Settings


def make_store(settings: Settings) -> BlobStore:
    """``file://PATH`` -> :class:`LocalBlobStore`; ``s3://BUCKET[/PREFIX]`` -> S3."""
    url = urlsplit(settings.blob_url)
    if url.scheme == "file":
        return LocalBlobStore(Path(unquote(url.netloc + url.path)))
    if url.scheme == "s3":
        if not url.netloc:
            raise ConfigurationError(f"{PREFIX}BLOB_URL={settings.blob_url!r} names no bucket")
        from artifortress.blobs.s3 import S3BlobStore  # boto3 only when used
        from artifortress.blobs.s3io import make_client

        client = make_client(settings.s3_endpoint_url, settings.s3_region, settings.threads + 4)
        return S3BlobStore(client, url.netloc, unquote(url.path))
    raise ConfigurationError(f"{PREFIX}BLOB_URL={settings.blob_url!r}: use file:// or s3://")
