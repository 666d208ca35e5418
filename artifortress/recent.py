"""What a process read recently, kept under a key that changes with the bytes it came from.

Reading a large document again per request (a multi-MB packument from the
database, a 3,000-file index page parsed) costs more than keeping it: the
remote engine keeps cached documents' bodies, keyed by their fetch, and plugins
keep what they parsed from them (``artifortress.plugin.RecentCache``). The key
carries what changes when the bytes change (a document's ``fetched_at``, a
rendering's ETag), so an entry is never stale, only unused: bounded by a weight
(bytes, files), the least recently used goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class RecentCache(Generic[V]):
    """A thread-safe LRU bounded by the total weight of its values.

    *weigh* gives a value's weight (``len`` for bytes); once the total passes
    *max_weight* the least recently used values go, though the newest stays
    even when it alone weighs more.
    """

    def __init__(self, weigh: Callable[[V], int], max_weight: int) -> None:
        self._weigh = weigh
        self._max_weight = max_weight
        self._weight = 0
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
            self._weight += self._weigh(value)
            while self._weight > self._max_weight and len(self._values) > 1:
                _key, dropped = self._values.popitem(last=False)
                self._weight -= self._weigh(dropped)
