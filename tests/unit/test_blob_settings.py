"""Blob-plane settings: S3's multipart limits are enforced at start-up, and the store URL picks
the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifortress.blobs.factory import make_store
from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.s3 import S3BlobStore
from artifortress.errors import ConfigurationError
from artifortress.settings import Settings


def load(tmp_path: Path, **values: str) -> Settings:
    environ = {"ARTIFORTRESS_HOME": str(tmp_path)}
    environ |= {f"ARTIFORTRESS_{name.upper()}": value for name, value in values.items()}
    return Settings.load(environ=environ)


def test_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.upload_min_part_size == 5 * 1024**2
    assert settings.upload_max_part_size == 1024**3
    assert settings.upload_session_ttl == 24 * 3600
    assert settings.s3_presign_downloads is False
    store = make_store(settings)
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path.resolve() / "blobs"


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"upload_min_part_size": "2MiB", "upload_max_part_size": "1MiB"}, "MIN_PART_SIZE exceeds"),
        ({"blob_url": "s3://b", "upload_min_part_size": "1MiB"}, "with S3"),
        ({"blob_url": "s3://b", "upload_max_part_size": "6GiB"}, "with S3"),
        ({"upload_session_ttl": "soon"}, "UPLOAD_SESSION_TTL"),
    ],
)
def test_impossible_limits_stop_start_up(tmp_path: Path, values: dict[str, str], needle: str):
    with pytest.raises(ConfigurationError, match=needle):
        load(tmp_path, **values)


def test_s3_url_names_bucket_and_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    settings = load(
        tmp_path,
        blob_url="s3://artifacts/prod/blobs/",
        s3_endpoint_url="http://127.0.0.1:9",
        upload_session_ttl="2h",
    )
    store = make_store(settings)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("artifacts", "prod/blobs")
    assert settings.upload_session_ttl == 7200
    store.close()
