"""Figures for the portal dashboard: sessions by day and outcome, attempts by day and provider.

Everything is counted by the database (GROUP BY day, with COUNT/SUM over CASE), so a period
of 100,000 sessions costs two queries returning a row per day and currency or provider.

The success rate is succeeded ÷ (succeeded + failed): a session the customer canceled or
abandoned (expired) never reached a verdict, so it is counted as such and not as a failure.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow

PERIODS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
}
DEFAULT_PERIOD = "30d"
# Session outcomes the dashboard counts apart; "open" and "processing" are still in progress.
ABANDONED = "expired"


class day_of(FunctionElement):
    """The UTC calendar day of a stored (naive UTC) timestamp: ``date()`` on SQLite, whose
    ``YYYY-MM-DD`` text the Date type reads back as a date; a cast on PostgreSQL."""

    type = Date()
    inherit_cache = True


@compiles(day_of)
def _day_of_default(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_of, "postgresql")
def _day_of_postgresql(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


def rate(succeeded: int, decided: int) -> float | None:
    """A success rate, or ``None`` when nothing was decided (abandoned sessions teach nothing)."""
    return succeeded / decided if decided else None


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``start`` up to and including ``end``."""

    key: str
    label: str
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[first midnight, the midnight after the last day): naive UTC, as stored."""
        start = datetime.combine(self.start, datetime.min.time())
        return start, datetime.combine(self.end + timedelta(days=1), datetime.min.time())


def period(key: str, today: date) -> Period:
    """One of :data:`PERIODS` ending ``today`` (the last month ends on its last day)."""
    if key not in PERIODS:
        raise ValueError(f"unknown period {key!r}")
    label = PERIODS[key]
    if key == "this_month":
        return Period(key, label, today.replace(day=1), today)
    if key == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(
            key, label, end.replace(day=1), end.replace(day=monthrange(end.year, end.month)[1])
        )
    days = int(key.removesuffix("d"))
    return Period(key, label, today - timedelta(days=days - 1), today)


@dataclass
class SessionTally:
    """Sessions counted by outcome: a day's, or the whole period's."""

    sessions: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0
    abandoned: int = 0

    @property
    def in_progress(self) -> int:
        return self.sessions - self.succeeded - self.failed - self.canceled - self.abandoned

    @property
    def success_rate(self) -> float | None:
        return rate(self.succeeded, self.succeeded + self.failed)

    def add(self, other: SessionTally) -> None:
        self.sessions += other.sessions
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.canceled += other.canceled
        self.abandoned += other.abandoned


@dataclass
class DayFigures(SessionTally):
    day: date = field(kw_only=True)


@dataclass
class ProviderFigures:
    """One provider's attempts; ``abandoned`` ones (canceled or expired) are no verdict on it."""

    provider: str
    attempts: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0
    abandoned: int = 0
    by_day: dict[date, int] = field(default_factory=dict)  # attempts a day

    @property
    def success_rate(self) -> float | None:
        return rate(self.succeeded, self.succeeded + self.failed + self.errors)


@dataclass
class Dashboard(SessionTally):
    period: Period | None = None
    days: list[DayFigures] = field(default_factory=list)
    providers: list[ProviderFigures] = field(default_factory=list)
    volume: dict[str, int] = field(default_factory=dict)  # succeeded amount per currency


def merchant_dashboard(
    merchant_id: str,
    mode: str,
    *,
    period_key: str = DEFAULT_PERIOD,
    now: datetime | None = None,
) -> Dashboard:
    """One merchant's sessions in ``mode`` over a period, counted by the database."""
    span = period(period_key, (now or utcnow()).date())
    board = Dashboard(period=span, days=[DayFigures(day=day) for day in span.days])
    _count_sessions(board, merchant_id, mode, span)
    board.providers = _provider_figures(merchant_id, mode, span)
    return board


def _count(condition: Any, value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _count_sessions(board: Dashboard, merchant_id: str, mode: str, span: Period) -> None:
    """Sessions by day and currency: counts per outcome and the succeeded amount."""
    start, end = span.bounds
    status, day = PaymentSession.status, day_of(PaymentSession.created_at)
    rows = db.session.execute(
        select(
            day,
            PaymentSession.currency,
            func.count(),
            _count(status == "succeeded"),
            _count(status == "failed"),
            _count(status == "canceled"),
            _count(status == ABANDONED),
            _count(status == "succeeded", PaymentSession.amount),
        )
        .where(
            PaymentSession.merchant_id == merchant_id,
            PaymentSession.mode == mode,
            PaymentSession.created_at >= start,
            PaymentSession.created_at < end,
        )
        .group_by(day, PaymentSession.currency)
    )
    by_day = {figures.day: figures for figures in board.days}
    volume: dict[str, int] = {}
    for on, currency, sessions, succeeded, failed, canceled, abandoned, amount in rows:
        tally = SessionTally(sessions, succeeded, failed, canceled, abandoned)
        by_day[on].add(tally)
        board.add(tally)
        if amount:
            volume[currency] = volume.get(currency, 0) + int(amount)
    board.volume = dict(sorted(volume.items(), key=lambda item: (-item[1], item[0])))


def _provider_figures(merchant_id: str, mode: str, span: Period) -> list[ProviderFigures]:
    """Attempts by day and provider, counted per outcome."""
    start, end = span.bounds
    status, day = Attempt.status, day_of(Attempt.created_at)
    rows = db.session.execute(
        select(
            day,
            Attempt.provider,
            func.count(),
            _count(status == "succeeded"),
            _count(status == "failed"),
            _count(status == "error"),
            _count(status.in_(("canceled", ABANDONED))),
        )
        .join(
            PaymentSession,
            and_(
                PaymentSession.id == Attempt.session_id,
                PaymentSession.merchant_id == merchant_id,
                PaymentSession.mode == mode,
            ),
        )
        .where(Attempt.created_at >= start, Attempt.created_at < end)
        .group_by(day, Attempt.provider)
    )
    figures: dict[str, ProviderFigures] = {}
    for on, provider, attempts, succeeded, failed, errors, abandoned in rows:
        entry = figures.setdefault(provider, ProviderFigures(provider))
        entry.attempts += attempts
        entry.succeeded += succeeded
        entry.failed += failed
        entry.errors += errors
        entry.abandoned += abandoned
        entry.by_day[on] = attempts
    return sorted(figures.values(), key=lambda entry: (-entry.attempts, entry.provider))
