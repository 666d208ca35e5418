"""Resumable upload sessions through the HTTP API, on the local store and on S3 (moto).

Parts arrive in any order and may be re-sent; completion verifies digest and
size over exactly the received bytes; dedupe answers only callers who may
already read the blob; bad input is a clear 4xx that stores nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from artifortress import cli
from artifortress.blobs import services as blob_services
from artifortress.blobs.models import UploadSession
from artifortress.blobs.reaper import reap
from artifortress.blobs.store import DigestMismatch, Expectation, UploadNotFound
from artifortress.db.base import utcnow
from artifortress.repos.services import get_repo
from artifortress.testing.helpers import Api
from tests.functional.blob_helpers import (
    PART,
    blob_rows,
    complete,
    digest_of,
    links,
    payload,
    put_part,
    session_row,
    start,
    start_session,
    upload,
)
from tests.functional.control_plane.helpers import assert_error, audit_rows
from tests.support.faulty_blobs import FaultyBlobStore

LOCAL_ONLY = pytest.mark.parametrize("blob_settings", ["local"], indirect=True)


@pytest.fixture
def settings_overrides(blob_settings: dict[str, str]) -> dict[str, str]:
    return blob_settings


@pytest.fixture
def repo(make_repo) -> str:
    make_repo("libs")
    return "libs"


def bind(admin: Api, repo: str, user: str, *roles: str) -> None:
    bound = admin.put(f"/v1/repos/{repo}/bindings/{user}", {"roles": list(roles)})
    assert bound.status_code == 200, bound.text


# -- the happy path ----------------------------------------------------------------------


def test_three_parts_out_of_order_with_a_retry(admin, repo, services):
    parts = [payload(PART, 1), payload(PART, 2), payload(4321, 3)]
    whole = b"".join(parts)
    created = start(admin, repo, digest_of(whole), len(whole))
    assert created.status_code == 201, created.text
    upload_id = created.json["id"]
    assert created.headers["location"] == f"/v1/repos/{repo}/uploads/{upload_id}"
    assert created.json["state"] == "open"
    assert created.json["deduplicated"] is False
    assert len(upload_id) >= 32

    for number, data in ((3, parts[2]), (1, b"garbage first"), (2, parts[1]), (1, parts[0])):
        sent = put_part(admin, repo, upload_id, number, data)
        assert sent.status_code == 200, sent.text
        assert sent.json == {"number": number, "size": len(data)}

    status = admin.get(f"/v1/repos/{repo}/uploads/{upload_id}")
    assert status.status_code == 200, status.text
    assert status.json["state"] == "open"
    assert status.json["parts"] == [
        {"number": 1, "size": PART},
        {"number": 2, "size": PART},
        {"number": 3, "size": 4321},
    ]
    assert status.json["received"] == len(whole)

    done = complete(admin, repo, upload_id)
    assert done.status_code == 200, done.text
    assert done.json["state"] == "committed"
    assert done.json["blob"] == {
        "digest": digest_of(whole),
        "size": len(whole),
        "sha256": digest_of(whole)[7:],
    }
    assert blob_rows(services) == [(digest_of(whole), len(whole))]

    fetched = admin.get(f"/v1/repos/{repo}/blobs/{digest_of(whole)}")
    assert fetched.status_code == 200
    assert fetched.content == whole

    again = complete(admin, repo, upload_id)  # a client that lost the first answer
    assert again.status_code == 200, again.text
    assert again.json["blob"]["digest"] == digest_of(whole)
    assert admin.get(f"/v1/repos/{repo}/uploads/{upload_id}").json["state"] == "committed"
    actions = [(e.action, e.outcome) for e in audit_rows(services, repo_key=repo)]
    assert ("upload.create", "success") in actions
    assert actions.count(("upload.commit", "success")) == 1


@LOCAL_ONLY
def test_single_request_ingest_for_plugins(admin, repo, services):
    """The service plugins call: hash while writing, verify, record, link."""
    data = payload(3 * 1024 * 1024, 4)
    with services.sessions() as db:
        target = get_repo(db, services.default_tenant_id(), repo)
        caller = admin_caller(services)
        with pytest.raises(DigestMismatch):
            blob_services.ingest(
                db, caller, services.blobs, target, iter([data]), Expectation(digest_of(b"x"))
            )
        db.rollback()
        info = blob_services.ingest(
            db, caller, services.blobs, target, iter([data[:1000], data[1000:]])
        )
        db.commit()
    assert info.digest == digest_of(data)
    assert blob_rows(services) == [(digest_of(data), len(data))]
    assert admin.get(f"/v1/repos/{repo}/blobs/{info.digest}").content == data
    assert [e.action for e in audit_rows(services, action="blob.ingest")] == ["blob.ingest"]


def admin_caller(services):
    from artifortress.auth.principal import Caller, Principal

    return Caller(Principal.operator(services.default_tenant_id()))


# -- refused input ---------------------------------------------------------------------------


def test_wrong_digest_is_refused_and_nothing_is_stored(admin, repo, services):
    data = payload(PART + 10, 5)
    claimed = digest_of(b"what the client claims")
    upload_id = start_session(admin, repo, data, digest=claimed)
    assert put_part(admin, repo, upload_id, 1, data[:PART]).status_code == 200
    assert put_part(admin, repo, upload_id, 2, data[PART:]).status_code == 200

    refused = complete(admin, repo, upload_id)
    assert_error(refused, 400)
    error = refused.json["error"]
    assert error["code"] == "digest_mismatch"
    assert claimed in error["message"]
    assert digest_of(data) in error["message"]
    assert error["details"] == {"expected": claimed, "actual": digest_of(data)}

    assert blob_rows(services) == []
    assert links(services) == set()
    assert services.blobs.size_of(digest_of(data)) is None
    assert services.blobs.size_of(claimed) is None
    for digest in (claimed, digest_of(data)):
        assert admin.get(f"/v1/repos/{repo}/blobs/{digest}").status_code == 404
    assert admin.get(f"/v1/repos/{repo}/uploads/{upload_id}").json["state"] == "failed"
    assert put_part(admin, repo, upload_id, 1, data[:10]).status_code == 409
    failed = audit_rows(services, action="upload.commit")
    assert [(e.outcome, e.details["reason"]) for e in failed] == [("failed", "digest_mismatch")]


@LOCAL_ONLY
def test_size_mismatch_names_both_sizes_and_keeps_the_session_open(admin, repo, services):
    data = payload(PART + 100, 6)
    upload_id = start_session(admin, repo, data)
    assert put_part(admin, repo, upload_id, 1, data[:PART]).status_code == 200
    assert put_part(admin, repo, upload_id, 2, data[PART:-1]).status_code == 200
    refused = complete(admin, repo, upload_id)
    assert_error(refused, 400)
    assert refused.json["error"]["code"] == "size_mismatch"
    assert refused.json["error"]["details"] == {"expected": len(data), "actual": len(data) - 1}
    assert str(len(data)) in refused.json["error"]["message"]
    assert blob_rows(services) == []

    assert put_part(admin, repo, upload_id, 2, data[PART:]).status_code == 200  # fix it
    assert complete(admin, repo, upload_id).status_code == 200
    assert blob_rows(services) == [(digest_of(data), len(data))]


@LOCAL_ONLY
def test_gaps_and_small_parts_are_refused(admin, repo, services):
    data = payload(2 * PART + 1, 7)
    upload_id = start_session(admin, repo, data)
    assert put_part(admin, repo, upload_id, 1, data[:PART]).status_code == 200
    assert put_part(admin, repo, upload_id, 3, data[PART:]).status_code == 200
    gap = complete(admin, repo, upload_id)
    assert_error(gap, 400)
    assert gap.json["error"]["code"] == "invalid_parts"
    assert "[2]" in gap.json["error"]["message"]

    small = start_session(admin, repo, data[:20])
    assert put_part(admin, repo, small, 1, data[:10]).status_code == 200
    assert put_part(admin, repo, small, 2, data[10:20]).status_code == 200
    refused = complete(admin, repo, small)
    assert_error(refused, 400)
    assert "smaller than" in refused.json["error"]["message"]
    assert blob_rows(services) == []


@LOCAL_ONLY
def test_malformed_digests_are_400(admin, repo):
    for digest in ("sha256:XYZ", "md5:" + "0" * 32, "sha256:" + "A" * 64, "0" * 64, ""):
        refused = start(admin, repo, digest, 10)
        assert_error(refused, 400)
        assert refused.json["error"]["code"] == "invalid_digest", digest
    assert_error(admin.get(f"/v1/repos/{repo}/blobs/sha256:nothex"), 400)
    assert_error(admin.post(f"/v1/repos/{repo}/uploads", {"digest": digest_of(b"")}), 400)
    assert_error(start(admin, repo, digest_of(b""), -1), 400)


@LOCAL_ONLY
def test_bad_part_numbers_are_400(admin, repo):
    upload_id = start_session(admin, repo, b"abc")
    for number in ("0", "abc", "10001", "-1", "1.5"):
        assert_error(put_part(admin, repo, upload_id, number, b"abc"), 400)


@LOCAL_ONLY
def test_parts_beyond_the_limit_are_413(admin, repo, services):
    services.settings = dataclasses.replace(
        services.settings, upload_max_part_size=64 * 1024, upload_min_part_size=1024
    )
    data = payload(200 * 1024, 8)
    upload_id = start_session(admin, repo, data)
    too_big = put_part(admin, repo, upload_id, 1, data[: 65 * 1024])
    assert_error(too_big, 413)
    assert too_big.json["error"]["code"] == "part_too_large"

    tiny = start_session(admin, repo, b"0123456789")
    assert_error(put_part(admin, repo, tiny, 1, b"0123456789+"), 413)  # more than the blob

    # Without Content-Length (chunked), the limit applies while reading.
    chunked = admin.client.simulate_request(
        "PUT",
        f"/v1/repos/{repo}/uploads/{upload_id}/parts/1",
        headers=admin.headers(),
        extras={"wsgi.input": io.BytesIO(data[: 65 * 1024])},
    )
    assert_error(chunked, 413)
    assert admin.get(f"/v1/repos/{repo}/uploads/{upload_id}").json["parts"] == []


class DroppedConnection(io.RawIOBase):
    """A request body whose client disconnects after *limit* bytes."""

    def __init__(self, data: bytes, limit: int, *, reset: bool) -> None:
        self._data = io.BytesIO(data[:limit])
        self._reset = reset

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        if not chunk and self._reset:
            raise ConnectionResetError("connection reset by peer")
        return chunk


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "short"])
def test_client_disconnect_mid_part_commits_nothing_and_the_session_resumes(
    admin, repo, services, reset
):
    data = payload(PART + 50, 9)
    upload_id = start_session(admin, repo, data)
    assert put_part(admin, repo, upload_id, 1, data[:PART]).status_code == 200
    cut = admin.client.simulate_request(
        "PUT",
        f"/v1/repos/{repo}/uploads/{upload_id}/parts/1",
        headers=admin.headers({"Content-Length": str(PART)}),
        extras={"wsgi.input": DroppedConnection(b"x" * PART, PART // 2, reset=reset)},
    )
    assert_error(cut, 400)
    assert cut.json["error"]["code"] == "incomplete_body"
    status = admin.get(f"/v1/repos/{repo}/uploads/{upload_id}")
    assert status.json["state"] == "open"
    assert status.json["parts"] == [{"number": 1, "size": PART}]  # the earlier part 1 stays

    assert put_part(admin, repo, upload_id, 2, data[PART:]).status_code == 200
    assert complete(admin, repo, upload_id).status_code == 200
    assert admin.get(f"/v1/repos/{repo}/blobs/{digest_of(data)}").content == data


# -- who may see what -------------------------------------------------------------------------


@LOCAL_ONLY
def test_dedupe_answers_only_callers_who_may_read_the_blob(admin, api_factory, make_repo, services):
    make_repo("src")
    make_repo("dst")
    make_repo("open", public=True)
    secret = payload(3000, 10)
    digest = upload(admin, "src", secret)

    stranger = api_factory.as_user("stranger")
    bind(admin, "dst", "stranger", "write")
    promoter = api_factory.as_user("promoter")
    bind(admin, "dst", "promoter", "write")
    bind(admin, "src", "promoter", "promote")
    reader = api_factory.as_user("reader")
    bind(admin, "dst", "reader", "write")
    bind(admin, "src", "reader", "read")
    scoped = api_factory.as_user("reader", repos=["dst"])

    for caller in (stranger, promoter, scoped):
        attempt = start(caller, "dst", digest, len(secret))
        assert attempt.status_code == 201, attempt.text  # a digest alone grants nothing
        assert "deduplicated" not in attempt.json or attempt.json["deduplicated"] is False
        assert caller.get(f"/v1/repos/dst/blobs/{digest}").status_code == 404
        assert complete(caller, "dst", attempt.json["id"]).status_code == 400  # no bytes sent
    assert stranger.get(f"/v1/repos/src/blobs/{digest}").status_code == 403

    deduped = start(reader, "dst", digest, len(secret))
    assert deduped.status_code == 200, deduped.text
    assert deduped.json == {
        "state": "committed",
        "deduplicated": True,
        "digest": digest,
        "size": len(secret),
        "sha256": digest[7:],
    }
    assert reader.get(f"/v1/repos/dst/blobs/{digest}").content == secret
    assert stranger.get(f"/v1/repos/dst/blobs/{digest}").content == secret  # now dst holds it
    entry = audit_rows(services, action="upload.commit", repo_key="dst")[-1]
    assert entry.details["deduplicated"] is True
    assert entry.details["source_repo"] == "src"

    wrong_size = start(reader, "dst", digest, len(secret) + 1)
    assert_error(wrong_size, 400)
    assert wrong_size.json["error"]["code"] == "size_mismatch"


@LOCAL_ONLY
def test_a_public_repository_lets_every_writer_dedupe(admin, api_factory, make_repo):
    make_repo("open", public=True)
    make_repo("mine")
    data = payload(100, 11)
    digest = upload(admin, "open", data)
    writer = api_factory.as_user("writer")
    bind(admin, "mine", "writer", "write")
    assert start(writer, "mine", digest, len(data)).status_code == 200


@LOCAL_ONLY
def test_a_stranger_who_sends_the_bytes_gets_them_committed(admin, api_factory, make_repo):
    make_repo("src")
    make_repo("dst")
    data = payload(2000, 12)
    digest = upload(admin, "src", data)
    stranger = api_factory.as_user("stranger")
    bind(admin, "dst", "stranger", "write")
    assert upload(stranger, "dst", data) == digest
    assert stranger.get(f"/v1/repos/dst/blobs/{digest}").content == data
    assert stranger.get(f"/v1/repos/src/blobs/{digest}").status_code == 403


@LOCAL_ONLY
def test_unknown_foreign_and_expired_sessions_are_404(admin, api_factory, make_repo, services):
    make_repo("libs")
    make_repo("other")
    colleague = api_factory.as_user("colleague")
    bind(admin, "libs", "colleague", "write")
    upload_id = start_session(admin, "libs", b"hello")
    paths = [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/complete"),
    ]
    for method, suffix in paths:
        for api, repo, uid in (
            (admin, "libs", "x" * 32),  # unknown
            (colleague, "libs", upload_id),  # someone else's
            (admin, "other", upload_id),  # another repository's
        ):
            answer = api.request(method, f"/v1/repos/{repo}/uploads/{uid}{suffix}")
            assert_error(answer, 404)
    assert_error(put_part(colleague, "libs", upload_id, 1, b"hello"), 404)

    with services.sessions.begin() as db:
        db.execute(
            update(UploadSession)
            .where(UploadSession.id == upload_id)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert_error(admin.get(f"/v1/repos/libs/uploads/{upload_id}"), 404)
    assert_error(put_part(admin, "libs", upload_id, 1, b"hello"), 404)


# -- abort and expiry -------------------------------------------------------------------------


def test_abort_discards_the_parts(admin, repo, services):
    data = payload(1000, 13)
    upload_id = start_session(admin, repo, data)
    assert put_part(admin, repo, upload_id, 1, data).status_code == 200
    handle = session_row(services, upload_id).backend_handle

    aborted = admin.delete(f"/v1/repos/{repo}/uploads/{upload_id}")
    assert aborted.status_code == 200, aborted.text
    assert aborted.json["state"] == "aborted"
    assert admin.delete(f"/v1/repos/{repo}/uploads/{upload_id}").status_code == 200
    status = admin.get(f"/v1/repos/{repo}/uploads/{upload_id}").json
    assert (status["state"], status["parts"]) == ("aborted", [])
    assert_error(put_part(admin, repo, upload_id, 1, data), 409)
    assert_error(complete(admin, repo, upload_id), 409)
    with pytest.raises(UploadNotFound):
        services.blobs.parts(upload_id, handle)
    assert blob_rows(services) == []
    assert [e.target for e in audit_rows(services, action="upload.abort")] == [upload_id]


def test_expired_sessions_are_reaped(admin, repo, services, tmp_path, monkeypatch, capsys):
    data = payload(1000, 14)
    overdue = start_session(admin, repo, data)
    assert put_part(admin, repo, overdue, 1, data).status_code == 200
    handle = session_row(services, overdue).backend_handle
    finished = start_session(admin, repo, b"done")
    assert put_part(admin, repo, finished, 1, b"done").status_code == 200
    assert complete(admin, repo, finished).status_code == 200
    orphan_handle = services.blobs.begin_upload("orphan-of-a-crash")  # no session row

    later = utcnow() + dt.timedelta(days=2)
    report = reap(services.sessions, services.blobs, grace=dt.timedelta(days=1), now=later)
    assert report.expired == 1
    assert report.swept >= 1
    assert session_row(services, overdue).state == "expired"
    with pytest.raises(UploadNotFound):
        services.blobs.parts(overdue, handle)
    with pytest.raises(UploadNotFound):
        services.blobs.parts("orphan-of-a-crash", orphan_handle)
    assert [e.target for e in audit_rows(services, action="upload.expire")] == [overdue]
    assert admin.get(f"/v1/repos/{repo}/blobs/{digest_of(b'done')}").content == b"done"

    much_later = later + dt.timedelta(days=30)
    report = reap(services.sessions, services.blobs, grace=dt.timedelta(days=1), now=much_later)
    assert report.forgotten == 2  # the expired and the committed session rows

    # The operator's command runs the same pass.
    for name, value in services.settings.__dict__.items():
        if name in ("database_url", "blob_url", "s3_endpoint_url", "home") and value:
            monkeypatch.setenv(f"ARTIFORTRESS_{name.upper()}", str(value))
    assert cli.main(["blobs", "reap"]) == 0
    assert "expired upload sessions reaped" in capsys.readouterr().out


# -- the store failing --------------------------------------------------------------------------


@pytest.fixture
def faulty(services) -> Iterator[FaultyBlobStore]:
    services.blobs = FaultyBlobStore(services.blobs)
    yield services.blobs
    services.blobs.heal()


@LOCAL_ONLY
def test_store_failures_are_503_and_change_nothing(admin, repo, services, faulty):
    data = payload(1000, 15)
    faulty.fail("begin_upload")
    refused = start(admin, repo, digest_of(data), len(data))
    assert_error(refused, 503)
    assert refused.json["error"]["code"] == "blob_store_unavailable"
    assert "blob store" in refused.json["error"]["message"]
    assert int(refused.headers["retry-after"]) > 0
    faulty.heal()

    upload_id = start_session(admin, repo, data)
    faulty.fail("write_part", times=1)
    assert_error(put_part(admin, repo, upload_id, 1, data), 503)
    assert put_part(admin, repo, upload_id, 1, data).status_code == 200
    faulty.fail("complete_upload")
    assert_error(complete(admin, repo, upload_id), 503)
    assert blob_rows(services) == []
    assert admin.get(f"/v1/repos/{repo}/uploads/{upload_id}").json["state"] == "open"
    faulty.heal()
    assert complete(admin, repo, upload_id).status_code == 200
    assert blob_rows(services) == [(digest_of(data), len(data))]
