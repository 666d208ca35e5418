"""The S3 blob store (``s3://BUCKET/PREFIX``), for AWS and S3-compatible stores (MinIO, Ceph).

Keys under the prefix::

    sha256/ab/cd/<hex>     committed blobs, content-addressed
    quarantine/<hex>.<time>  blobs that ``artifortress scrub`` found corrupt, moved aside
    uploads/<session>      an upload session: an S3 multipart upload while open,
                           then the assembled staging object while it is verified
    tmp/<uuid>             single-request writes whose digest was not announced

Upload sessions are S3 multipart uploads, so a session spans processes and
hosts.  S3 cannot hash a multipart object with SHA-256, so completion
assembles the parts into the staging object, streams it back through
SHA-256 and only then copies it (server side) to its content address: a
completion costs one read of the whole blob from S3 and one server-side copy.
Single-request writes hash on the way in and need neither.

Every botocore error is translated here; nothing above this module sees one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import tempfile
import uuid
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from artifortress.blobs.digests import EMPTY_DIGEST, Hasher, fan_out
from artifortress.blobs.s3io import S3Stream, error_code
from artifortress.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobStoreUnavailable,
    Expectation,
    InvalidParts,
    PartInfo,
    StoredObject,
    UploadNotFound,
    describe_error,
)
from artifortress.errors import ArtifortressError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

#: S3's own limits on multipart uploads.
MIN_PART_SIZE = 5 * 1024**2
MAX_PARTS = 10_000
#: Part size for single-request writes: the memory one such write holds at most (twice).
WRITE_PART_SIZE = 8 * 1024**2
_MISSING = {"NoSuchKey", "NotFound", "404"}
_BLOB_NAME = re.compile(r"^[0-9a-f]{64}$")
_COPY = TransferConfig(multipart_threshold=4 * 1024**3, multipart_chunksize=512 * 1024**2)


class S3BlobStore:
    """Blobs as objects in one bucket, under one key prefix."""

    kind = "s3"

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    # -- helpers -----------------------------------------------------------------

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _blob_key(self, digest: str) -> str:
        return self._key(fan_out(digest))

    def _session_key(self, upload_id: str) -> str:
        return self._key(f"uploads/{upload_id}")

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        """botocore's errors become the core's own; unknown ones mean "S3 is not usable"."""
        try:
            yield
        except ClientError as exc:
            raise self._client_error(exc, doing) from exc
        except (BotoCoreError, OSError) as exc:
            raise BlobStoreUnavailable(
                self.kind, f"{doing} failed ({describe_error(exc)})"
            ) from exc

    def _client_error(self, exc: ClientError, doing: str) -> ArtifortressError:
        code = error_code(exc)
        if code == "NoSuchUpload":
            return UploadNotFound("the upload session is gone from the blob store")
        if code == "EntityTooSmall":
            return InvalidParts(
                f"every part but the last must be at least {MIN_PART_SIZE} bytes on S3"
            )
        if code in ("InvalidPart", "InvalidPartOrder"):
            return InvalidParts("the parts changed while completing; check the status and retry")
        if code == "NoSuchBucket":
            return BlobStoreUnavailable(self.kind, f"bucket {self.bucket!r} does not exist")
        return BlobStoreUnavailable(self.kind, f"{doing} failed (S3 answered {code or exc})")

    def _exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise
        return True

    def _hash_object(self, key: str) -> BlobInfo:
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        hasher = Hasher()
        try:
            for chunk in body.iter_chunks(CHUNK_SIZE):
                hasher.update(chunk)
        finally:
            body.close()
        return hasher.info()

    def _copy_into_place(self, source_key: str, digest: str) -> None:
        target = self._blob_key(digest)
        if not self._exists(target):
            source = {"Bucket": self.bucket, "Key": source_key}
            self._client.copy(source, self.bucket, target, Config=_COPY)  # type: ignore[arg-type]

    # -- the BlobStore protocol --------------------------------------------------

    def check(self) -> None:
        with self._translate(f"reaching bucket {self.bucket!r}"):
            self._client.head_bucket(Bucket=self.bucket)

    def size_of(self, digest: str) -> int | None:
        with self._translate("reading a blob's size"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=self._blob_key(digest))
            except ClientError as exc:
                if error_code(exc) in _MISSING:
                    return None
                raise
            return int(head["ContentLength"])

    def open(self, digest: str, start: int = 0, length: int | None = None) -> S3Stream:
        extra: dict[str, Any] = {}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{end}"
        with self._translate("reading a blob"):
            try:
                answer = self._client.get_object(
                    Bucket=self.bucket, Key=self._blob_key(digest), **extra
                )
            except ClientError as exc:
                if error_code(exc) in _MISSING:
                    raise BlobNotFound(f"blob {digest} is not in the store") from None
                raise
        return S3Stream(answer["Body"], self.kind)

    def presigned_url(self, digest: str, ttl_seconds: int) -> str | None:
        with self._translate("signing a download URL"):
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._blob_key(digest)},
                ExpiresIn=ttl_seconds,
            )

    def write(self, chunks: Iterable[bytes], expected: Expectation) -> BlobInfo:
        with self._translate("writing a blob"):
            return _Writer(self, expected).run(chunks)

    def begin_upload(self, upload_id: str) -> str:
        with self._translate("starting an upload"):
            created = self._client.create_multipart_upload(
                Bucket=self.bucket,
                Key=self._session_key(upload_id),
                ContentType="application/octet-stream",
            )
            return created["UploadId"]

    def write_part(
        self, upload_id: str, handle: str, number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        # Spooled to disk first: bounded memory, a known length and a seekable body
        # botocore can sign, checksum and retry; a client that disconnects never
        # reaches S3 at all, so the previous version of the part stays.
        with tempfile.TemporaryFile() as spool:
            size = _spool(chunks, spool)
            spool.seek(0)
            with self._translate("storing a part"):
                try:
                    answer = self._client.upload_part(
                        Bucket=self.bucket,
                        Key=self._session_key(upload_id),
                        UploadId=handle,
                        PartNumber=number,
                        Body=spool,
                        ContentLength=size,
                    )
                except ClientError:
                    self.parts(upload_id, handle)  # UploadNotFound when the upload is gone,
                    raise  # which some S3-compatible stores answer with a bare 500
        return PartInfo(number, size, answer["ETag"])

    def parts(self, upload_id: str, handle: str) -> list[PartInfo]:
        found: list[PartInfo] = []
        with self._translate("listing parts"):
            pages = self._client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=self._session_key(upload_id), UploadId=handle
            )
            for page in pages:
                found.extend(
                    PartInfo(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", [])
                )
        return sorted(found, key=lambda p: p.number)

    def complete_upload(
        self, upload_id: str, handle: str, parts: Sequence[PartInfo], expected: Expectation
    ) -> BlobInfo:
        key = self._session_key(upload_id)
        with self._translate("completing an upload"):
            if not parts:  # S3 refuses a multipart upload without parts
                info = BlobInfo(EMPTY_DIGEST, 0)
                expected.verify(info)
                if not self._exists(self._blob_key(info.digest)):
                    self._client.put_object(Bucket=self.bucket, Key=self._blob_key(info.digest))
                return info
            self._assemble(key, handle, parts)
            info = self._hash_object(key)
            expected.verify(info)
            self._copy_into_place(key, info.digest)
            return info

    def _assemble(self, key: str, handle: str, parts: Sequence[PartInfo]) -> None:
        """Complete the multipart upload into the staging object (or find it done already)."""
        listed: list[CompletedPartTypeDef] = [
            {"PartNumber": p.number, "ETag": p.etag or ""} for p in parts
        ]
        try:
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=handle, MultipartUpload={"Parts": listed}
            )
        except ClientError as exc:
            # A completion interrupted after this step left the staging object: resume.
            if error_code(exc) != "NoSuchUpload" or not self._exists(key):
                raise

    def abort_upload(self, upload_id: str, handle: str) -> None:
        key = self._session_key(upload_id)
        with self._translate("discarding an upload"):
            try:
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=handle)
            except ClientError as exc:
                if error_code(exc) not in ("NoSuchUpload", *_MISSING):
                    raise
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def delete(self, digest: str) -> None:
        with self._translate("deleting a blob"):
            self._client.delete_object(Bucket=self.bucket, Key=self._blob_key(digest))

    def stored(self) -> Iterator[StoredObject]:
        with self._translate("listing blobs"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key("sha256/")
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"].rsplit("/", 1)[-1]
                    if _BLOB_NAME.fullmatch(name) and obj["Key"] == self._blob_key(
                        f"sha256:{name}"
                    ):
                        yield StoredObject(f"sha256:{name}", int(obj["Size"]), obj["LastModified"])

    def quarantine(self, digest: str) -> str | None:
        key = self._blob_key(digest)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self._key(f"quarantine/{key.rsplit('/', 1)[-1]}.{stamp}")
        with self._translate("moving a blob aside"):
            if not self._exists(key):
                return None
            source = {"Bucket": self.bucket, "Key": key}
            self._client.copy(source, self.bucket, target, Config=_COPY)  # type: ignore[arg-type]
            self._client.delete_object(Bucket=self.bucket, Key=key)
        return f"s3://{self.bucket}/{target}"

    def reclaim(self) -> int:
        """0: S3 does not say whether a multipart upload's writer is alive; ``sweep`` ages them."""
        return 0

    def sweep(self, cutoff: dt.datetime, live: Container[str]) -> int:
        removed = 0
        with self._translate("sweeping leftovers"):
            for area in ("uploads/", "tmp/"):
                removed += self._sweep_uploads(self._key(area), cutoff, live)
                removed += self._sweep_objects(self._key(area), cutoff, live)
            # A single-request write with an announced digest uploads to the blob's
            # own key: a writer killed meanwhile leaves a multipart upload there.
            removed += self._sweep_uploads(self._key("sha256/"), cutoff, live)
        return removed

    def _sweep_uploads(self, prefix: str, cutoff: dt.datetime, live: Container[str]) -> int:
        removed = 0
        pages = self._client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                name = upload["Key"].rsplit("/", 1)[-1]
                if name not in live and upload["Initiated"] < cutoff:
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed

    def _sweep_objects(self, prefix: str, cutoff: dt.datetime, live: Container[str]) -> int:
        removed = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if name not in live and obj["LastModified"] < cutoff:
                    self._client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    removed += 1
        return removed

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"


def _spool(chunks: Iterable[bytes], spool: IO[bytes]) -> int:
    size = 0
    for chunk in chunks:
        spool.write(chunk)
        size += len(chunk)
    return size


class _Writer:
    """One single-request write: small blobs in one PUT, larger ones as a multipart upload.

    The bytes are hashed on the way in, so the digest is known before the
    multipart upload is completed: a mismatch aborts it and nothing ever
    becomes an object.  With an announced digest the upload goes straight to
    the content address; without one it goes to ``tmp/`` and is copied.
    """

    def __init__(self, store: S3BlobStore, expected: Expectation) -> None:
        self._store = store
        self._client = store._client
        self._expected = expected
        self._hasher = Hasher()
        self._key = (
            store._blob_key(expected.digest)
            if expected.digest
            else store._key(f"tmp/{uuid.uuid4()}")
        )
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        size = expected.size or 0
        self._part_size = max(WRITE_PART_SIZE, math.ceil(size / (MAX_PARTS - 1)))

    def run(self, chunks: Iterable[bytes]) -> BlobInfo:
        try:
            return self._run(chunks)
        except BaseException:
            self._abort()
            raise

    def _run(self, chunks: Iterable[bytes]) -> BlobInfo:
        buffer = bytearray()
        for chunk in chunks:
            self._hasher.update(chunk)
            buffer += chunk
            if len(buffer) >= self._part_size:
                self._send_part(bytes(buffer))
                buffer = bytearray()
        info = self._hasher.info()
        self._expected.verify(info)
        if self._upload_id is None:
            self._put_small(bytes(buffer), info)
            return info
        if buffer:
            self._send_part(bytes(buffer))
        self._finish(info)
        return info

    def _put_small(self, data: bytes, info: BlobInfo) -> None:
        key = self._store._blob_key(info.digest)
        if not self._store._exists(key):
            self._client.put_object(Bucket=self._store.bucket, Key=key, Body=data)

    def _send_part(self, data: bytes) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._store.bucket, Key=self._key)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        sent = self._client.upload_part(
            Bucket=self._store.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def _finish(self, info: BlobInfo) -> None:
        assert self._upload_id is not None
        if self._store._exists(self._store._blob_key(info.digest)):
            self._abort()  # identical bytes already stored
            return
        self._client.complete_multipart_upload(
            Bucket=self._store.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._upload_id = None
        if self._key != self._store._blob_key(info.digest):
            self._store._copy_into_place(self._key, info.digest)
            self._client.delete_object(Bucket=self._store.bucket, Key=self._key)

    def _abort(self) -> None:
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        with contextlib.suppress(ClientError, BotoCoreError):
            self._client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._key, UploadId=upload_id
            )
