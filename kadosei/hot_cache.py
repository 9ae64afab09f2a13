"""Short-lived, per-process copies of rarely changed rows that a hot path reads on every
request (the routing rules and the shop's name in a checkout redirect).

Each app has its own caches (``app.extensions``), each entry lives ``KADOSEI_HOT_CACHE_SECONDS``
(0: no caching). A change made through this process forgets the entry at once; a change made
on another instance or by the CLI is seen everywhere within that time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache
from flask import current_app

T = TypeVar("T")


class HotCache:
    """A TTL cache that forgets on demand; a load racing a ``forget`` is not kept."""

    def __init__(self, seconds: float, maxsize: int = 4096) -> None:
        self._entries: TTLCache = TTLCache(maxsize=maxsize, ttl=seconds)
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                return self._entries[key]
            generation = self._generation
        value = load()
        with self._lock:
            if generation == self._generation:
                self._entries[key] = value
        return value

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1


def hot_cache(name: str) -> HotCache:
    """The current app's cache called ``name``."""
    extensions = current_app.extensions
    key = f"kadosei.hot_cache.{name}"
    cache = extensions.get(key)
    if cache is None:
        seconds = current_app.config["KADOSEI_HOT_CACHE_SECONDS"]
        cache = extensions.setdefault(key, HotCache(seconds))
    return cache
