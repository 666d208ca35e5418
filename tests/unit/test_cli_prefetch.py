"""How ``remote prefetch`` walks what a format asks for: pages, their links, failures."""

from __future__ import annotations

import threading

from artifortress.cli.inprocess import Answer
from artifortress.cli.remote import _fetch_all
from artifortress.formats import Prefetch

MOUNT = "/pypi/all/"


class FakeClient:
    """Answers by path; a page's body is the text of its links, one per line."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    def get(self, path: str, *, accept: str | None = None, keep: int = 0) -> Answer:
        with self._lock:
            self.asked.append((path, accept))
        return self.answers.get(path, Answer(404, None, "404 Not Found: no such thing"))


def lines(body: bytes) -> list[str]:
    return body.decode().split()


def test_page_links_are_followed_once_relative_or_absolute():
    page = b" ".join(
        [
            b"../../files/a/1.0/a.whl",
            b"http://any.host/pypi/all/files/a/1.0/a.tar.gz?x=1",
            b"../../files/a/1.0/a.whl",
        ]
    )
    client = FakeClient(
        {
            "/pypi/all/simple/a/": Answer(200, page, None),
            "/pypi/all/files/a/1.0/a.whl": Answer(200, None, None),
            "/pypi/all/files/a/1.0/a.tar.gz?x=1": Answer(200, None, None),
        }
    )
    items = [Prefetch("simple/a/", accept="json", links=lines)]
    failures, total = _fetch_all(client, MOUNT, items, jobs=2)
    assert (failures, total) == ([], 3)
    assert ("/pypi/all/simple/a/", "json") in client.asked
    assert sorted(path for path, _ in client.asked) == [
        "/pypi/all/files/a/1.0/a.tar.gz?x=1",
        "/pypi/all/files/a/1.0/a.whl",
        "/pypi/all/simple/a/",
    ]


def test_each_failure_is_named_and_the_others_still_run():
    client = FakeClient(
        {
            "/pypi/all/simple/b/": Answer(200, b"https://files.example/b-1.0.whl", None),
            "/pypi/all/ok": Answer(200, None, None),
        }
    )
    items = [
        Prefetch("missing"),
        Prefetch("simple/b/", links=lines),
        Prefetch("ok"),
        Prefetch("ok"),
    ]
    failures, total = _fetch_all(client, MOUNT, items, jobs=1)
    assert total == 3, "a path asked twice is fetched once"
    problems = {done.path: done.problem for done in failures}
    assert problems == {
        "/pypi/all/missing": "404 Not Found: no such thing",
        "/pypi/all/simple/b/": "links to https://files.example/b-1.0.whl, outside /pypi/all/",
    }
