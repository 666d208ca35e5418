"""Tiered cache of renderings: a bounded in-process LRU in front of an optional Redis."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from artifortress.renderings.store import Rendered, RenderingKey

log = logging.getLogger("artifortress.renderings")


class MemoryCache:
    """Thread-safe LRU bounded by the total size of the bodies it holds."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[RenderingKey, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: RenderingKey) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: RenderingKey, value: Rendered) -> None:
        if len(value.body) > self._max_bytes // 4:
            return  # one huge page must not flush everything else
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes -= len(old.body) if old else 0
            self._entries[key] = value
            self._bytes += len(value.body)
            while self._bytes > self._max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)


class RedisCache:
    """Renderings shared by every process and node; silent (and skipped a while) on errors."""

    PREFIX = "af:rendering:"

    def __init__(self, client: Any, ttl_seconds: int = 3600, pause_seconds: float = 5.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._pause = pause_seconds
        self._down_until = 0.0

    def get(self, key: RenderingKey) -> Rendered | None:
        raw = self._call("get", self._key(key))
        return _decode(raw) if isinstance(raw, bytes) else None

    def put(self, key: RenderingKey, value: Rendered) -> None:
        self._call("set", self._key(key), _encode(value), ex=self._ttl)

    def _key(self, key: RenderingKey) -> str:
        repository_id, name, revision, changed = key
        return f"{self.PREFIX}{repository_id}:{revision}:{changed}:{name}"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self._down_until:
            return None
        try:
            return getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:  # any Redis failure only costs the cache
            self._down_until = time.monotonic() + self._pause
            log.warning("Redis unavailable (%s); serving without it for %.0fs", exc, self._pause)
            return None


class TieredCache:
    """Memory first, then Redis; a Redis hit is kept in memory too."""

    def __init__(self, memory: MemoryCache, shared: RedisCache | None) -> None:
        self._memory = memory
        self._shared = shared

    def get(self, key: RenderingKey) -> Rendered | None:
        found = self._memory.get(key)
        if found is None and self._shared is not None:
            found = self._shared.get(key)
            if found is not None:
                self._memory.put(key, found)
        return found

    def put(self, key: RenderingKey, value: Rendered) -> None:
        self._memory.put(key, value)
        if self._shared is not None:
            self._shared.put(key, value)


def _encode(value: Rendered) -> bytes:
    head = json.dumps(
        {
            "content_type": value.content_type,
            "etag": value.etag,
            "last_modified": value.last_modified.isoformat(),
        }
    ).encode()
    return head + b"\n" + value.body


def _decode(raw: bytes) -> Rendered | None:
    import datetime as dt

    head, sep, body = raw.partition(b"\n")
    if not sep:
        return None
    meta = json.loads(head)
    return Rendered(
        body, meta["content_type"], meta["etag"], dt.datetime.fromisoformat(meta["last_modified"])
    )


def make_cache(redis_url: str, memory_bytes: int) -> TieredCache:
    """The cache for this process: memory always, Redis when *redis_url* is set."""
    shared = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
        shared = RedisCache(client)
    return TieredCache(MemoryCache(memory_bytes), shared)
