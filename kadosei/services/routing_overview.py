"""What the router believes right now, per segment a merchant pays in (the portal's Routing
page): each eligible provider's estimate, evidence, breaker and fee, and the rules in force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kadosei.errors import invalid
from kadosei.extensions import db
from kadosei.models import MODES, PaymentSession
from kadosei.providers import registry
from kadosei.routing import StoreUnavailable
from kadosei.services import routing, routing_rules

MAX_SEGMENTS = 12


@dataclass(frozen=True)
class ProviderStatus:
    provider: str
    fee_percent: float | None
    fee_fixed: int | None
    status: dict[str, Any] | None  # success_rate, availability, evidence, breaker …
    excluded_by: str | None  # the rule that keeps it out of this merchant's routing


@dataclass(frozen=True)
class SegmentStatus:
    payment_method: str
    currency: str
    sessions: int
    providers: list[ProviderStatus]


@dataclass(frozen=True)
class RoutingOverview:
    mode: str
    segments: list[SegmentStatus]
    rules: list[routing_rules.Rule]
    statistics_available: bool


def merchant_segments(merchant_id: str, mode: str) -> list[tuple[str, str, int]]:
    """(method, currency, sessions) the merchant has used in ``mode``, busiest first."""
    sessions = func.count(PaymentSession.pk)
    rows = db.session.execute(
        select(PaymentSession.payment_method, PaymentSession.currency, sessions)
        .where(PaymentSession.merchant_id == merchant_id, PaymentSession.mode == mode)
        .group_by(PaymentSession.payment_method, PaymentSession.currency)
        .order_by(sessions.desc(), PaymentSession.payment_method, PaymentSession.currency)
        .limit(MAX_SEGMENTS)
    )
    return [(method, currency, count) for method, currency, count in rows]


def routing_overview(merchant_id: str, mode: str) -> RoutingOverview:
    """The router's current view of every segment the merchant uses in ``mode``."""
    if mode not in MODES:
        raise invalid("mode", f"mode must be one of {', '.join(MODES)}")
    rules = routing_rules.rules_for(merchant_id)
    router = routing.get_router()
    available = True
    segments = []
    for method, currency, count in merchant_segments(merchant_id, mode):
        providers = registry.eligible_providers(mode, method, currency)
        names = [p.name for p in providers]
        excluded = {e["provider"]: e["rule"] for e in routing_rules.plan(rules, names).excluded}
        context = {"mode": mode, "payment_method": method, "currency": currency, "amount": 0}
        statuses: dict[str, dict] = {}
        if available:
            try:
                statuses = router.provider_status(context, names, now=routing.routing_now())
            except StoreUnavailable:
                available = False
        rows = []
        for provider in providers:
            fee = routing.provider_candidate(provider, method, currency)
            rows.append(
                ProviderStatus(
                    provider=provider.name,
                    fee_percent=fee["fee_percent"],
                    fee_fixed=fee["fee_fixed"],
                    status=statuses.get(provider.name),
                    excluded_by=excluded.get(provider.name),
                )
            )
        segments.append(SegmentStatus(method, currency, count, rows))
    return RoutingOverview(mode, segments, rules, available)
