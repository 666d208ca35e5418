"""A real S3 HTTP endpoint for tests: moto's server mode on a free loopback port.

boto3 talks to it over HTTP exactly as to AWS or MinIO, so signing,
multipart uploads, ranged reads and error responses take their real wire
path.  :class:`MotoS3` can be stopped and started again on the same port
(moto keeps its buckets in this process), which is how the outage tests
make the blob store disappear mid-run.  Under ``CI=true`` a missing moto
fails the tests that need it instead of skipping them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from artifortress.testing.databases import service_missing
from artifortress.testing.server import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: moto accepts any credentials; boto3 needs some.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "artifortress-test",
    "AWS_SECRET_ACCESS_KEY": "artifortress-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoS3:
    """moto's S3 in a thread of this process, on 127.0.0.1, stoppable and restartable."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    def start(self) -> MotoS3:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the listening socket: connections are refused."""
        if self._server is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() leaves the socket listening, so clients would
        # hang instead of seeing a refused connection, as with a stopped S3.
        self._server._server.server_close()
        self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def client(self) -> S3Client:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str | None = None) -> str:
        bucket = name or f"af-test-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=bucket)
        client.close()
        return bucket


def start_moto(port: int | None = None) -> MotoS3:
    """Start a moto server, or skip (fail under CI) when moto is missing or cannot start."""
    try:
        return MotoS3(port).start()
    except Exception as exc:  # ImportError, or a server that cannot bind
        service_missing("S3 (moto server mode)", exc)
        raise  # unreachable: service_missing skips or fails


def use_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    # A developer's ~/.aws must not leak into the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """One moto S3 server for the test session (per xdist worker)."""
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def s3_blob_settings(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings overrides for a fresh bucket on the moto server (and test credentials)."""
    use_test_credentials(monkeypatch)
    bucket = moto_s3.create_bucket()
    return {"blob_url": f"s3://{bucket}/blobs", "s3_endpoint_url": moto_s3.endpoint_url}


@pytest.fixture(params=["local", "s3"])
def blob_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings overrides for each blob store: a local folder, then S3 (moto).

    Use it as ``settings_overrides`` to run a test on both stores::

        @pytest.fixture
        def settings_overrides(blob_settings):
            return blob_settings
    """
    if request.param == "local":
        return {"blob_url": f"file://{tmp_path / 'blobs'}"}
    settings: dict[str, str] = request.getfixturevalue("s3_blob_settings")
    return settings
