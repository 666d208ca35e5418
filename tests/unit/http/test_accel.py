"""The front-proxy hand-off's page files: exact bytes, mtime = Last-Modified, rewritten if lost."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from artifortress.http.accel import AccelRedirect, prune
from artifortress.renderings.store import Rendered

CHANGED = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)


def page(body: bytes = b"<html>simple</html>", etag: str = '"0123456789abcdef"') -> Rendered:
    return Rendered(body, "text/html", etag, CHANGED)


@pytest.fixture
def handoff(tmp_path: Path) -> AccelRedirect:
    return AccelRedirect("/_accel/", tmp_path / "blobs", tmp_path / "renderings")


def file_of(handoff: AccelRedirect, uri: str, tmp_path: Path) -> Path:
    assert uri.startswith("/_accel/renderings/")
    return tmp_path / "renderings" / uri.removeprefix("/_accel/renderings/")


def test_page_is_written_once_with_its_bytes_mode_and_change_time(handoff, tmp_path):
    doc = page()
    uri = handoff.rendering(doc)
    assert uri is not None
    written = file_of(handoff, uri, tmp_path)
    assert written.read_bytes() == doc.body
    info = written.stat()
    assert info.st_mtime == pytest.approx(CHANGED.timestamp(), abs=1e-5)
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert handoff.rendering(doc) == uri
    assert written.stat().st_ino == info.st_ino, "a current file is not rewritten"


def test_different_content_or_change_time_gets_another_file(handoff):
    first = handoff.rendering(page())
    other_body = handoff.rendering(page(b"other", '"fedcba9876543210"'))
    later = handoff.rendering(
        Rendered(b"x", "text/html", '"0123456789abcdef"', dt.datetime.now(dt.UTC))
    )
    assert len({first, other_body, later}) == 3


def test_a_lost_or_short_file_is_written_again(handoff, tmp_path):
    uri = handoff.rendering(page())
    assert uri is not None
    file_of(handoff, uri, tmp_path).unlink()
    assert handoff.rendering(page()) == uri
    assert file_of(handoff, uri, tmp_path).read_bytes() == page().body
    file_of(handoff, uri, tmp_path).write_bytes(b"")  # as a crash mid-write could leave it
    assert handoff.rendering(page()) == uri
    assert file_of(handoff, uri, tmp_path).read_bytes() == page().body


@pytest.mark.parametrize("etag", ['W/"abc12345"', '"../../etc/passwd"', "unquoted0123", '""'])
def test_etags_that_could_not_name_a_file_are_sent_directly(handoff, etag):
    assert handoff.rendering(page(etag=etag)) is None


def test_an_unwritable_folder_means_sending_directly(tmp_path):
    blocked = tmp_path / "renderings"
    handoff = AccelRedirect("/_accel/", None, blocked)
    os.rmdir(blocked)
    blocked.write_text("a file where the folder should be")
    assert handoff.rendering(page()) is None


def test_blob_uris_follow_the_content_address_only_for_local_blobs(handoff, tmp_path):
    digest = "sha256:" + "ab" * 32
    assert handoff.blob(digest) == f"/_accel/blobs/sha256/ab/ab/{'ab' * 32}"
    assert AccelRedirect("/_accel/", None, tmp_path / "r").blob(digest) is None


def test_prune_removes_only_files_unused_for_the_retention(handoff, tmp_path):
    uri = handoff.rendering(page())
    assert uri is not None
    folder = tmp_path / "renderings"
    assert prune(folder, retention=3600) == 0
    assert file_of(handoff, uri, tmp_path).exists()
    foreign = folder / "artifortress.db"
    foreign.write_bytes(b"not ours")
    assert prune(folder, retention=-1) == 1
    assert list(folder.iterdir()) == [foreign], "only its own files are pruned"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
