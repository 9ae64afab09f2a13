"""Where the router keeps what it learned: the store interface and the in-process store."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from kadosei.routing.stats import (
    ALL,
    CLOCK,
    CLOSED,
    CLOSED_AT,
    ERROR,
    STATE,
    Params,
    claim_probe,
    new_breaker,
    new_row,
    update_breaker,
    update_row,
)

Hash = dict[str, list[float]]


class StoreUnavailable(Exception):
    """The shared store could not be reached; the caller should degrade, not fail."""


class Store(Protocol):
    """Statistics hashes (one per segment key) and breaker rows (one per mode and provider)."""

    def read(
        self, keys: Sequence[str], breaker_key: str, providers: Sequence[str]
    ) -> tuple[list[tuple[float, Hash]], dict[str, list[float]]]:
        """Each key's (clock, rows) and the providers' breaker rows (missing ones omitted)."""
        ...

    def record(
        self,
        keys: Sequence[str],
        breaker_key: str,
        provider: str,
        x: int,
        expected: float,
        now: float,
        params: Params,
    ) -> None:
        """Fold one outcome into every key's rows and the provider's breaker, atomically."""
        ...

    def claim_probe(self, breaker_key: str, provider: str, now: float, params: Params) -> bool:
        """Reserve a half-open probe of the provider if one is due (only one caller wins)."""
        ...


class MemoryStore:
    """The default store: plain dicts in this process, guarded by a lock."""

    def __init__(self) -> None:
        self._hashes: dict[str, Hash] = {}
        self._clocks: dict[str, float] = {}
        self._breakers: dict[str, dict[str, list[float]]] = {}
        self._lock = threading.Lock()

    def read(
        self, keys: Sequence[str], breaker_key: str, providers: Sequence[str]
    ) -> tuple[list[tuple[float, Hash]], dict[str, list[float]]]:
        """Each key's (clock, rows) and the providers' breaker rows (live objects: read only)."""
        hashes = self._hashes
        clocks = self._clocks
        empty: Hash = {}
        levels = [(clocks.get(k, 0.0), hashes.get(k, empty)) for k in keys]
        breakers = self._breakers.get(breaker_key)
        if not breakers:
            return levels, {}
        return levels, {name: breakers[name] for name in providers if name in breakers}

    def record(
        self,
        keys: Sequence[str],
        breaker_key: str,
        provider: str,
        x: int,
        expected: float,
        now: float,
        params: Params,
    ) -> None:
        """Fold one outcome into every key's rows and the provider's breaker."""
        with self._lock:
            breakers = self._breakers.setdefault(breaker_key, {})
            breaker = breakers.setdefault(provider, new_breaker())
            if x == ERROR and breaker[STATE] != CLOSED:
                # A probe's error is the breaker's business: availability already fell before
                # the trip, and stale errors would hold a recovered provider back.
                update_breaker(breaker, x, now, params)
                return
            for key in keys:
                rows = self._hashes.setdefault(key, {})
                clock = self._clocks.get(key, 0.0)
                if x != ERROR:
                    clock += 1.0
                    self._clocks[key] = clock
                    star = rows.setdefault(ALL, new_row())
                    update_row(star, clock, x, expected, now, params, False)
                row = rows.get(provider)
                if row is None:
                    row = rows[provider] = new_row()
                    row[CLOCK] = clock
                update_row(row, clock, x, expected, now, params, True, breaker[CLOSED_AT])
            update_breaker(breaker, x, now, params)

    def claim_probe(self, breaker_key: str, provider: str, now: float, params: Params) -> bool:
        """Reserve a half-open probe of the provider if one is due."""
        with self._lock:
            row = self._breakers.get(breaker_key, {}).get(provider)
            return row is not None and claim_probe(row, now, params)
