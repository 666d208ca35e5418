"""One contract for every blob store: local folder, S3 (moto server over HTTP), faulty wrapper.

Each test states a promise of the ``BlobStore`` protocol that the layers
above rely on: verified bytes only, never a partial object at a blob's
address, retry-safe parts, resumable completion, and the core's own errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.s3 import S3BlobStore
from artifortress.blobs.s3io import make_client
from artifortress.blobs.store import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    DigestMismatch,
    Expectation,
    IncompleteBody,
    SizeMismatch,
    UploadNotFound,
)
from tests.support.faulty_blobs import FaultyBlobStore
from tests.support.s3 import MotoS3, start_moto, use_test_credentials

MiB = 1024 * 1024
#: S3's smallest part but the last; the local store accepts smaller ones.
PART = 5 * MiB
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def data(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def digest_of(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def chunked(payload: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for offset in range(0, len(payload), size):
        yield payload[offset : offset + size]


def read_all(store: BlobStore, digest: str, start: int = 0, length: int | None = None) -> bytes:
    stream = store.open(digest, start, length)
    try:
        return b"".join(stream)
    finally:
        stream.close()


class ClientWentAway(IncompleteBody):
    """What the HTTP layer raises when a request body stops early."""


def interrupted(payload: bytes, after: int) -> Iterator[bytes]:
    yield payload[:after]
    raise ClientWentAway("the client went away")


def s3_store(request: pytest.FixtureRequest) -> S3BlobStore:
    """A store in a new bucket of the moto server (which fails under CI when missing)."""
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    use_test_credentials(request.getfixturevalue("monkeypatch"))
    return S3BlobStore(make_client(moto.endpoint_url, "", 4), moto.create_bucket(), "pre/fix")


@pytest.fixture(params=["local", "s3", "faulty"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    built: BlobStore
    if request.param == "s3":
        built = s3_store(request)
    else:
        built = LocalBlobStore(tmp_path / "blobs")
        if request.param == "faulty":
            built = FaultyBlobStore(built)  # with no fault armed it must be invisible
    yield built
    built.close()


def assert_no_leftovers(store: BlobStore) -> None:
    """Nothing but committed blobs remains: a sweep of everything finds nothing to remove."""
    assert store.sweep(FAR_FUTURE, live=set()) == 0


# -- single-request writes ----------------------------------------------------------


def test_write_then_read_back(store: BlobStore) -> None:
    payload = data(300_000)
    info = store.write(chunked(payload), Expectation(digest_of(payload), len(payload)))
    assert info == BlobInfo(digest_of(payload), len(payload))
    assert store.size_of(info.digest) == len(payload)
    assert read_all(store, info.digest) == payload
    assert_no_leftovers(store)


def test_write_without_expectations_computes_the_digest(store: BlobStore) -> None:
    payload = data(1000, seed=2)
    assert store.write(chunked(payload, 100), Expectation()).digest == digest_of(payload)
    assert read_all(store, digest_of(payload)) == payload


@pytest.mark.parametrize("announced", ["digest", "nothing"])
def test_large_write_is_streamed_in_parts(store: BlobStore, announced: str) -> None:
    payload = data(9 * MiB + 123, seed=3)  # beyond S3's single-PUT buffer
    expected = Expectation(digest_of(payload)) if announced == "digest" else Expectation()
    info = store.write(chunked(payload, MiB), expected)
    assert info.size == len(payload)
    assert read_all(store, info.digest) == payload
    assert_no_leftovers(store)


def test_empty_blob(store: BlobStore) -> None:
    info = store.write(iter([]), Expectation(digest_of(b""), 0))
    assert info.size == 0
    assert read_all(store, info.digest) == b""


def test_wrong_digest_stores_nothing(store: BlobStore) -> None:
    payload = data(9 * MiB, seed=4)
    wrong = digest_of(b"something else")
    with pytest.raises(DigestMismatch) as refused:
        store.write(chunked(payload, MiB), Expectation(wrong, len(payload)))
    assert refused.value.details == {"expected": wrong, "actual": digest_of(payload)}
    assert wrong in refused.value.message
    assert digest_of(payload) in refused.value.message
    assert store.size_of(wrong) is None
    assert store.size_of(digest_of(payload)) is None
    assert_no_leftovers(store)


def test_wrong_size_stores_nothing(store: BlobStore) -> None:
    payload = data(1000, seed=5)
    with pytest.raises(SizeMismatch) as refused:
        store.write(chunked(payload), Expectation(digest_of(payload), 999))
    assert refused.value.details == {"expected": 999, "actual": 1000}
    assert store.size_of(digest_of(payload)) is None


@pytest.mark.parametrize("size", [1000, 9 * MiB])
def test_interrupted_write_stores_nothing(store: BlobStore, size: int) -> None:
    payload = data(size, seed=6)
    with pytest.raises(ClientWentAway):
        store.write(interrupted(payload, size // 2), Expectation(digest_of(payload)))
    assert store.size_of(digest_of(payload)) is None
    assert_no_leftovers(store)


def test_no_partial_object_at_the_address_while_writing(store: BlobStore) -> None:
    payload = data(9 * MiB, seed=7)
    digest = digest_of(payload)
    seen = []

    def watched() -> Iterator[bytes]:
        for chunk in chunked(payload, MiB):
            seen.append(store.size_of(digest))
            yield chunk

    store.write(watched(), Expectation(digest))
    assert seen == [None] * 9
    assert store.size_of(digest) == len(payload)


def test_writing_the_same_bytes_twice_keeps_one_blob(store: BlobStore) -> None:
    payload = data(2000, seed=8)
    first = store.write(chunked(payload), Expectation(digest_of(payload)))
    second = store.write(chunked(payload), Expectation(digest_of(payload)))
    assert first == second
    assert read_all(store, first.digest) == payload
    assert_no_leftovers(store)


# -- reading ------------------------------------------------------------------------


def test_ranges(store: BlobStore) -> None:
    payload = data(100_000, seed=9)
    digest = store.write(chunked(payload), Expectation()).digest
    assert read_all(store, digest, 10, 20) == payload[10:30]
    assert read_all(store, digest, 99_990) == payload[99_990:]
    assert read_all(store, digest, 0, 1) == payload[:1]


def test_missing_blob(store: BlobStore) -> None:
    digest = digest_of(b"never stored")
    assert store.size_of(digest) is None
    with pytest.raises(BlobNotFound):
        store.open(digest)
    store.delete(digest)  # idempotent


def test_delete(store: BlobStore) -> None:
    digest = store.write(chunked(b"short-lived"), Expectation()).digest
    store.delete(digest)
    assert store.size_of(digest) is None


def test_stored_lists_committed_blobs_only(store: BlobStore) -> None:
    payloads = [data(3000, seed=20), data(10, seed=21), b""]
    for payload in payloads:
        store.write(chunked(payload), Expectation())
    session = store.begin_upload("listed-session-1")
    store.write_part("listed-session-1", session, 1, chunked(data(100, seed=22)))
    listed = {obj.digest: obj for obj in store.stored()}
    assert {d: o.size for d, o in listed.items()} == {digest_of(p): len(p) for p in payloads}
    now = dt.datetime.now(dt.UTC)
    assert all(abs(obj.modified - now) < dt.timedelta(minutes=5) for obj in listed.values())


def test_quarantine_moves_a_blob_out_of_its_address(store: BlobStore) -> None:
    payload = data(4000, seed=23)
    digest = store.write(chunked(payload), Expectation()).digest
    assert store.quarantine(digest)
    assert store.size_of(digest) is None
    with pytest.raises(BlobNotFound):
        store.open(digest)
    assert list(store.stored()) == []
    assert store.quarantine(digest) is None  # idempotent
    store.write(chunked(payload), Expectation(digest))  # the right bytes heal it
    assert read_all(store, digest) == payload
    assert_no_leftovers(store)


def test_check_passes(store: BlobStore) -> None:
    store.check()


def test_presigned_url_serves_the_bytes_where_supported(store: BlobStore) -> None:
    payload = data(5000, seed=10)
    digest = store.write(chunked(payload), Expectation()).digest
    url = store.presigned_url(digest, 60)
    if isinstance(store, S3BlobStore):
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == payload
    else:
        assert url is None


# -- upload sessions ----------------------------------------------------------------


def three_parts() -> list[bytes]:
    return [data(PART, seed=11), data(PART, seed=12), data(1234, seed=13)]


def test_parts_in_any_order_retry_safe_then_complete(store: BlobStore) -> None:
    parts = three_parts()
    handle = store.begin_upload("session-one")
    store.write_part("session-one", handle, 3, chunked(parts[2]))
    store.write_part("session-one", handle, 1, chunked(b"x" * 100))  # replaced below
    store.write_part("session-one", handle, 2, chunked(parts[1]))
    store.write_part("session-one", handle, 1, chunked(parts[0]))
    listed = store.parts("session-one", handle)
    assert [(p.number, p.size) for p in listed] == [(1, PART), (2, PART), (3, 1234)]

    whole = b"".join(parts)
    expected = Expectation(digest_of(whole), len(whole))
    info = store.complete_upload("session-one", handle, listed, expected)
    assert info == BlobInfo(digest_of(whole), len(whole))
    assert read_all(store, info.digest) == whole

    # Completing again (a retry after a crash) gives the same answer...
    assert store.complete_upload("session-one", handle, listed, expected) == info
    # ...until the leftovers are discarded.
    store.abort_upload("session-one", handle)
    with pytest.raises(UploadNotFound):
        store.parts("session-one", handle)
    assert read_all(store, info.digest) == whole
    assert_no_leftovers(store)


def test_single_part_session(store: BlobStore) -> None:
    payload = data(3 * MiB, seed=14)
    handle = store.begin_upload("session-single")
    store.write_part("session-single", handle, 1, chunked(payload))
    listed = store.parts("session-single", handle)
    expected = Expectation(digest_of(payload), len(payload))
    assert store.complete_upload("session-single", handle, listed, expected).size == len(payload)
    store.abort_upload("session-single", handle)
    assert read_all(store, digest_of(payload)) == payload


def test_empty_session(store: BlobStore) -> None:
    handle = store.begin_upload("session-empty")
    assert store.parts("session-empty", handle) == []
    info = store.complete_upload("session-empty", handle, [], Expectation(digest_of(b""), 0))
    assert info.size == 0
    store.abort_upload("session-empty", handle)
    assert read_all(store, info.digest) == b""


@pytest.mark.parametrize("parts_count", [1, 2])
def test_completion_with_the_wrong_digest_places_nothing(
    store: BlobStore, parts_count: int
) -> None:
    parts = [data(PART, seed=15), data(10, seed=16)][:parts_count]
    handle = store.begin_upload("session-bad")
    for number, part in enumerate(parts, start=1):
        store.write_part("session-bad", handle, number, chunked(part))
    listed = store.parts("session-bad", handle)
    whole = b"".join(parts)
    wrong = digest_of(b"not these bytes")
    with pytest.raises(DigestMismatch) as refused:
        store.complete_upload("session-bad", handle, listed, Expectation(wrong, len(whole)))
    assert refused.value.details == {"expected": wrong, "actual": digest_of(whole)}
    assert store.size_of(wrong) is None
    assert store.size_of(digest_of(whole)) is None
    store.abort_upload("session-bad", handle)
    assert_no_leftovers(store)


def test_interrupted_part_keeps_the_previous_one(store: BlobStore) -> None:
    handle = store.begin_upload("session-cut")
    store.write_part("session-cut", handle, 1, chunked(b"a" * 1000))
    with pytest.raises(ClientWentAway):
        store.write_part("session-cut", handle, 1, interrupted(b"b" * 5000, 2500))
    listed = store.parts("session-cut", handle)
    assert [(p.number, p.size) for p in listed] == [(1, 1000)]
    info = store.complete_upload("session-cut", handle, listed, Expectation(digest_of(b"a" * 1000)))
    assert read_all(store, info.digest) == b"a" * 1000


def test_aborted_or_unknown_sessions_are_gone(store: BlobStore) -> None:
    handle = store.begin_upload("session-abort")
    store.write_part("session-abort", handle, 1, chunked(b"abc"))
    store.abort_upload("session-abort", handle)
    store.abort_upload("session-abort", handle)  # idempotent
    with pytest.raises(UploadNotFound):
        store.parts("session-abort", handle)
    with pytest.raises(UploadNotFound):
        store.write_part("session-abort", handle, 1, chunked(b"abc"))
    assert_no_leftovers(store)


def test_sweep_removes_only_old_orphans(store: BlobStore) -> None:
    live = store.begin_upload("session-live")
    store.write_part("session-live", live, 1, chunked(b"keep"))
    orphan = store.begin_upload("session-orphan")
    store.write_part("session-orphan", orphan, 1, chunked(b"drop"))

    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert store.sweep(past, live={"session-live"}) == 0  # nothing that old
    assert store.sweep(FAR_FUTURE, live={"session-live"}) >= 1
    assert [(p.number, p.size) for p in store.parts("session-live", live)] == [(1, 4)]
    with pytest.raises(UploadNotFound):
        store.parts("session-orphan", orphan)


# -- failures -------------------------------------------------------------------------


def test_unreachable_s3_is_an_outage_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_credentials(monkeypatch)
    moto = start_moto()
    store = S3BlobStore(make_client(moto.endpoint_url, "", 2), moto.create_bucket())
    digest = store.write(chunked(b"before"), Expectation()).digest
    moto.stop()
    try:
        for attempt in (
            store.check,
            lambda: store.size_of(digest),
            lambda: store.open(digest),
            lambda: store.write(chunked(b"during"), Expectation()),
            lambda: store.begin_upload("session-outage"),
        ):
            with pytest.raises(BlobStoreUnavailable) as outage:
                attempt()
            assert outage.value.status == 503
            assert "blob store (s3)" in outage.value.message
            assert "botocore" not in outage.value.message
    finally:
        moto.start()
    assert read_all(store, digest) == b"before"
    store.close()
    moto.stop()


def test_local_store_on_an_unusable_path_is_an_outage(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    store = LocalBlobStore(tmp_path / "a-file" / "blobs")
    with pytest.raises(BlobStoreUnavailable) as outage:
        store.check()
    assert "blob store (local)" in outage.value.message
    with pytest.raises(BlobStoreUnavailable):
        store.write(chunked(b"nope"), Expectation())
    with pytest.raises(BlobStoreUnavailable):
        store.begin_upload("session-nowhere")


def test_local_completion_without_xattrs_hashes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_xattrs(*args: object) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr("os.setxattr", no_xattrs)
    store = LocalBlobStore(tmp_path / "blobs")
    handle = store.begin_upload("session-noxattr")
    store.write_part("session-noxattr", handle, 1, chunked(b"payload"))
    listed = store.parts("session-noxattr", handle)
    with pytest.raises(DigestMismatch):
        store.complete_upload("session-noxattr", handle, listed, Expectation(digest_of(b"other")))
    info = store.complete_upload(
        "session-noxattr", handle, listed, Expectation(digest_of(b"payload"))
    )
    assert read_all(store, info.digest) == b"payload"


def test_faulty_store_fails_on_command(tmp_path: Path) -> None:
    store = FaultyBlobStore(LocalBlobStore(tmp_path / "blobs"))
    store.fail("write", times=1)
    with pytest.raises(BlobStoreUnavailable):
        store.write(chunked(b"first"), Expectation())
    digest = store.write(chunked(b"second try"), Expectation()).digest
    store.cut_reads_after(3)
    with pytest.raises(BlobStoreUnavailable):
        read_all(store, digest)
    store.heal()
    assert read_all(store, digest) == b"second try"
    with pytest.raises(ValueError, match="unknown operation"):
        store.fail("explode")


# -- leftovers of dead writers (local store) --------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from artifortress.blobs.heldfiles import create_held
fd, path = create_held(Path(sys.argv[1]), sys.argv[2])
print(path, flush=True)
sys.stdin.read()  # hold it until told to stop (or killed)
"""


def holder(directory: Path, prefix: str) -> tuple[subprocess.Popen[str], Path]:
    """Another process writing a temporary file of the store, as a server worker does."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), prefix],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_dead_writers_files_are_reclaimed_at_once_a_live_ones_never(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    session = store.begin_upload("session-live")
    store.write_part("session-live", session, 1, chunked(b"kept"))
    dead_blob, dead_blob_file = holder(tmp_path / "blobs" / "tmp", "blob-")
    dead_part, dead_part_file = holder(tmp_path / "blobs" / "uploads" / session, ".part-00002-")
    live, live_file = holder(tmp_path / "blobs" / "tmp", "blob-")
    try:
        for process in (dead_blob, dead_part):
            process.kill()
            process.wait()
        past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        assert store.sweep(past, live={"session-live"}) == 2, "no grace for the dead"
        assert not dead_blob_file.exists()
        assert not dead_part_file.exists()
        assert store.sweep(FAR_FUTURE, live={"session-live"}) == 0, "however old"
        assert live_file.exists()
        assert [(p.number, p.size) for p in store.parts("session-live", session)] == [(1, 4)]
    finally:
        live.kill()
        live.wait()
    assert store.reclaim() == 1
    assert not live_file.exists()


def test_s3_sweeps_a_dead_writers_upload_at_a_blobs_address(request: pytest.FixtureRequest) -> None:
    """A single-request write with an announced digest uploads to the blob's own key."""
    store = s3_store(request)
    key = store._blob_key(digest_of(b"never completed"))
    store._client.create_multipart_upload(Bucket=store.bucket, Key=key)
    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert store.sweep(past, live=set()) == 0
    assert store.sweep(FAR_FUTURE, live=set()) == 1
    assert store._client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    store.close()
