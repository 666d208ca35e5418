"""Stored renderings with the in-process and Redis caches: fast, never stale, Redis optional."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import event

from artifortress.renderings.cache import MemoryCache, RedisCache, TieredCache, make_cache
from artifortress.renderings.store import Rendered, note_change, rendered
from artifortress.testing.databases import service_missing
from artifortress.testing.server import free_port

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def doc(body: bytes) -> Rendered:
    return Rendered(body, "text/plain", '"e"', NOW)


def test_memory_cache_is_bounded_by_bytes_and_lru():
    cache = MemoryCache(max_bytes=100)
    cache.put((1, "a", 1, 0), doc(b"x" * 20))
    cache.put((1, "b", 1, 0), doc(b"y" * 20))
    assert cache.get((1, "a", 1, 0)) is not None  # a is now the most recent
    for n in range(5):
        cache.put((1, f"c{n}", 1, 0), doc(b"z" * 20))
    assert cache.get((1, "b", 1, 0)) is None, "least recently used entry evicted"
    cache.put((1, "huge", 1, 0), doc(b"h" * 60))
    assert cache.get((1, "huge", 1, 0)) is None, "an entry over a quarter of the budget is not kept"


def _repo_id(admin, services) -> int:
    from artifortress.repos.services import get_repo

    with services.sessions() as db:
        return get_repo(db, services.default_tenant_id(), "docs").id


def _count_selects(engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        seen.append(statement)

    return seen


def test_cached_rendering_is_served_without_rebuild_or_body_read(services, admin, make_repo):
    make_repo("docs", format="generic")
    repository_id = _repo_id(admin, services)
    builds: list[int] = []
    cache = TieredCache(MemoryCache(1 << 20), None)

    def build() -> bytes:
        builds.append(1)
        return f"page {len(builds)}".encode()

    def render() -> Rendered:
        with services.sessions.begin() as db:
            return rendered(
                db,
                repository_id,
                "k",
                package="p",
                content_type="text/plain",
                build=build,
                cache=cache,
            )

    first = render()
    statements = _count_selects(services.engine)
    second = render()
    assert second.body == first.body == b"page 1"
    assert builds == [1]
    assert not any("documents" in s for s in statements), "a cache hit reads no stored body"
    with services.sessions.begin() as db:
        note_change(db, repository_id, "p")
    assert render().body == b"page 2", "a change makes the next read rebuild, cache or not"


@pytest.fixture
def redis_server(tmp_path) -> Iterator[str]:
    """A private redis-server on a free port, so the test can stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_redis_cache_roundtrip_and_outage(redis_server):
    shared = RedisCache(
        redis.Redis.from_url(redis_server, socket_timeout=0.25, socket_connect_timeout=0.25)
    )
    shared.put((1, "k", 7, 0), doc(b"shared body"))
    fetched = shared.get((1, "k", 7, 0))
    assert fetched is not None
    assert fetched.body == b"shared body"
    assert fetched.last_modified == NOW
    redis.Redis.from_url(redis_server).shutdown(nosave=True)
    started = time.monotonic()
    assert shared.get((1, "k", 7, 0)) is None
    shared.put((1, "k", 8, 0), doc(b"x"))
    assert time.monotonic() - started < 2, "a dead Redis must not stall requests"


def test_pages_keep_working_when_redis_stops(redis_server, admin, make_repo, services):
    services.renderings = make_cache(redis_server, 0)  # memory off: every read goes to Redis
    make_repo("py", format="pypi")
    first = admin.get("/pypi/py/simple/")
    assert first.status_code == 200, first.text
    assert redis.Redis.from_url(redis_server).keys("af:rendering:*"), "the page went to Redis"
    redis.Redis.from_url(redis_server).shutdown(nosave=True)
    again = admin.get("/pypi/py/simple/")
    assert again.status_code == 200
    assert again.content == first.content


def test_a_stale_page_wanted_by_many_threads_at_once_is_built_once(services, admin, make_repo):
    """The first requests after a publish wait for one build instead of each building the page."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    make_repo("docs", format="generic")
    repository_id = _repo_id(admin, services)
    cache = TieredCache(MemoryCache(1 << 20), None)
    builds: list[int] = []
    arrived = threading.Barrier(6)

    def build() -> bytes:
        builds.append(1)
        time.sleep(0.3)  # the other threads find the page stale meanwhile
        return b"page"

    def render(_: int) -> bytes:
        arrived.wait()
        with services.sessions.begin() as db:
            return rendered(
                db,
                repository_id,
                "k",
                package="p",
                content_type="text/plain",
                build=build,
                cache=cache,
            ).body

    with ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(render, range(6)))
    assert bodies == [b"page"] * 6
    assert builds == [1]
