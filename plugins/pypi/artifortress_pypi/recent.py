"""Pages as read, kept per process: a page is read again only when its bytes changed.

Reading a PEP 691 page of 3,000 files into :class:`~artifortress_pypi.simple.DistFile`
items takes tens of milliseconds; remote and virtual pages are built per request from
such readings, so each process keeps the recent ones, under a key that changes with the
bytes (an upstream document's fetch time, a stored rendering's ETag). Bounded by the
files held, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

#: About 25 MiB of listed files per cache and process at most.
MAX_FILES = 50_000


class RecentPages(Generic[V]):
    """A thread-safe LRU of page readings, weighed by the files each holds."""

    def __init__(self, files_of: Callable[[V], int], max_files: int = MAX_FILES) -> None:
        self._files_of = files_of
        self._max_files = max_files
        self._files = 0
        self._pages: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._pages.get(key)
            if found is not None:
                self._pages.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if key in self._pages:
                return
            self._pages[key] = value
            self._files += self._files_of(value)
            while self._files > self._max_files and len(self._pages) > 1:
                _key, dropped = self._pages.popitem(last=False)
                self._files -= self._files_of(dropped)
