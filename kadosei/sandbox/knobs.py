"""The operator's knobs on each sandbox PSP (its back office), stored in the database so that
every web and worker process sees a change: read per call, except which PSPs are enabled,
which kadosei's session creation asks on every request and is cached per process for at most
a second."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kadosei.sandbox.models import SandboxSettings
from kadosei.sandbox.store import reading, transaction

MAX_SLOW_MS = 60_000
ENABLED_CACHE_SECONDS = 1.0
_CACHE_KEY = "kadosei_sandbox_enabled"


class InvalidKnob(ValueError):
    """A knob's new value is refused; ``param`` names the knob, ``message`` says why."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Knobs:
    """How a sandbox provider behaves right now."""

    enabled: bool = True
    down: bool = False
    slow_ms: int = 0
    error_rate: float = 0.0
    success_rate: float = 1.0

    @classmethod
    def from_row(cls, row: SandboxSettings | None) -> Knobs:
        if row is None:
            return cls()
        return cls(
            enabled=row.enabled,
            down=row.down,
            slow_ms=row.slow_ms,
            error_rate=row.error_rate,
            success_rate=row.success_rate,
        )

    @property
    def is_default(self) -> bool:
        return self == Knobs()


KNOB_NAMES = tuple(asdict(Knobs()))


def load_knobs(provider: str) -> Knobs:
    with reading() as session:
        return Knobs.from_row(session.get(SandboxSettings, provider))


def load_all_knobs() -> dict[str, Knobs]:
    """Every provider with a settings row; a provider missing here has the defaults."""
    with reading() as session:
        rows = session.scalars(select(SandboxSettings)).all()
        return {row.provider: Knobs.from_row(row) for row in rows}


def disabled_providers() -> frozenset[str]:
    """Sandbox providers the operator has disabled (cached per app for at most a second)."""
    cached = current_app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    disabled = frozenset(name for name, knobs in load_all_knobs().items() if not knobs.enabled)
    current_app.extensions[_CACHE_KEY] = (now + ENABLED_CACHE_SECONDS, disabled)
    return disabled


def update_knobs(provider: str, changes: dict[str, object]) -> Knobs:
    """Validate and store ``changes`` (a subset of the knobs) for ``provider``; commits.
    ``InvalidKnob`` if a value is refused (nothing changes)."""
    cleaned = _validated(changes)
    current_app.extensions.pop(_CACHE_KEY, None)
    for _ in range(2):  # a concurrent first write may create the row under us: retry once
        try:
            with transaction() as session:
                row = session.get(SandboxSettings, provider)
                if row is None:
                    row = SandboxSettings(provider=provider, **asdict(Knobs()))
                    session.add(row)
                for name, value in cleaned.items():
                    setattr(row, name, value)
        except IntegrityError:
            continue
        return Knobs.from_row(row)
    raise InvalidKnob("provider", "The settings changed concurrently; try again")


def reset_knobs(provider: str) -> Knobs:
    return update_knobs(provider, asdict(Knobs()))


def _validated(changes: dict[str, object]) -> dict[str, object]:
    cleaned: dict[str, object] = {}
    for name, value in changes.items():
        if name in ("enabled", "down"):
            if not isinstance(value, bool):
                raise InvalidKnob(name, f"{name} must be true or false")
            cleaned[name] = value
        elif name == "slow_ms":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidKnob(name, "slow_ms must be a whole number of milliseconds")
            if not 0 <= value <= MAX_SLOW_MS:
                raise InvalidKnob(name, f"slow_ms must be between 0 and {MAX_SLOW_MS}")
            cleaned[name] = value
        elif name in ("error_rate", "success_rate"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidKnob(name, f"{name} must be a number between 0 and 1")
            if not 0.0 <= float(value) <= 1.0:
                raise InvalidKnob(name, f"{name} must be between 0 and 1")
            cleaned[name] = float(value)
        else:
            raise InvalidKnob(name, f"Unknown sandbox setting: {name}")
    return cleaned
