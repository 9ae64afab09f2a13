"""Figures for the portal dashboard: volume and success rate over time and per provider."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow


def rate(succeeded: int, decided: int) -> float | None:
    """A success rate, or ``None`` when nothing was decided (abandoned sessions teach nothing)."""
    return succeeded / decided if decided else None


@dataclass
class SessionTally:
    """Sessions counted by outcome: a day's, or the whole period's."""

    sessions: int = 0
    succeeded: int = 0
    failed: int = 0

    def count(self, status: str) -> None:
        self.sessions += 1
        if status == "succeeded":
            self.succeeded += 1
        elif status == "failed":
            self.failed += 1

    @property
    def success_rate(self) -> float | None:
        return rate(self.succeeded, self.succeeded + self.failed)


@dataclass
class DayFigures(SessionTally):
    day: date = field(kw_only=True)


@dataclass
class ProviderFigures:
    provider: str
    attempts: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0

    @property
    def success_rate(self) -> float | None:
        return rate(self.succeeded, self.succeeded + self.failed + self.errors)


@dataclass
class Dashboard(SessionTally):
    days: list[DayFigures] = field(default_factory=list)
    providers: list[ProviderFigures] = field(default_factory=list)
    volume: dict[str, int] = field(default_factory=dict)  # succeeded amount per currency


def merchant_dashboard(
    merchant_id: str, mode: str, *, days: int = 30, now: datetime | None = None
) -> Dashboard:
    """The last ``days`` days of one merchant's sessions in ``mode``, aggregated."""
    now = now or utcnow()
    start = datetime.combine((now - timedelta(days=days - 1)).date(), datetime.min.time())
    by_day = {
        (start + timedelta(days=i)).date(): DayFigures(day=(start + timedelta(days=i)).date())
        for i in range(days)
    }
    board = Dashboard(days=list(by_day.values()))
    rows = db.session.execute(
        select(
            PaymentSession.created_at,
            PaymentSession.status,
            PaymentSession.amount,
            PaymentSession.currency,
        ).where(
            PaymentSession.merchant_id == merchant_id,
            PaymentSession.mode == mode,
            PaymentSession.created_at >= start,
        )
    )
    volume: dict[str, int] = defaultdict(int)
    for created_at, status, amount, currency in rows:
        figures = by_day.get(created_at.date())
        if figures is None:
            continue
        figures.count(status)
        board.count(status)
        if status == "succeeded":
            volume[currency] += amount
    board.volume = dict(sorted(volume.items(), key=lambda item: -item[1]))
    board.providers = _provider_figures(merchant_id, mode, start)
    return board


def _provider_figures(merchant_id: str, mode: str, start: datetime) -> list[ProviderFigures]:
    rows = db.session.execute(
        select(Attempt.provider, Attempt.status)
        .join(PaymentSession, PaymentSession.id == Attempt.session_id)
        .where(
            PaymentSession.merchant_id == merchant_id,
            PaymentSession.mode == mode,
            Attempt.created_at >= start,
        )
    )
    figures: dict[str, ProviderFigures] = {}
    for provider, status in rows:
        entry = figures.setdefault(provider, ProviderFigures(provider))
        entry.attempts += 1
        if status == "succeeded":
            entry.succeeded += 1
        elif status == "failed":
            entry.failed += 1
        elif status == "error":
            entry.errors += 1
    return sorted(figures.values(), key=lambda entry: -entry.attempts)
