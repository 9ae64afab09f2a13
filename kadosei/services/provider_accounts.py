"""The provider accounts as people see them (docs/api.md §10): the operator's list of the
configured accounts (never a credential: at most its last four characters), and, for
merchants, which methods and currencies each mode can take."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kadosei.currencies import all_currencies
from kadosei.extensions import db
from kadosei.models import MODES, PAYMENT_METHODS, ApiKey, ProviderNotification
from kadosei.providers import registry
from kadosei.providers.base import Provider
from kadosei.routing import StoreUnavailable
from kadosei.services import routing
from kadosei.services.checkout_links import notification_url

# A credential shorter than this shows nothing at all: its last four would say too much.
HINT_MIN_LENGTH = 12
# Up to this many currencies a method cannot take are listed as exceptions to "every currency".
FEW_MISSING = 12


@dataclass(frozen=True)
class FeeRow:
    method: str  # a method, or "*" for every other one
    percent: float
    fixed_eur_cents: int


@dataclass(frozen=True)
class LastNotification:
    received_at: datetime
    reported_status: str | None
    effect: str


@dataclass(frozen=True)
class AccountRow:
    """One configured account on the operator's page."""

    name: str
    display_name: str
    type: str
    mode: str
    methods: list[str]
    currencies: list[str] | None  # None: every currency the adapter can express
    fees: list[FeeRow]
    notification_url: str  # to register at the provider
    credentials: dict[str, str]  # field → "…last4" or "set"; never the value
    last_notification: LastNotification | None
    breaker: dict[str, Any] | None  # the router's breaker state; None: unknown (no store)


@dataclass(frozen=True)
class MethodCoverage:
    method: str
    currencies: list[str] | None  # None: every ISO 4217 currency but ``except_currencies``
    except_currencies: list[str]


@dataclass(frozen=True)
class ModeCoverage:
    """What one mode can take: each method with the currencies some provider takes it in."""

    mode: str
    methods: list[MethodCoverage]

    @property
    def takes_nothing(self) -> bool:
        return not self.methods


@dataclass(frozen=True)
class AccountsOverview:
    rows: list[AccountRow]
    statistics_available: bool  # False: the routing store could not be reached
    now: float  # on the router's clock, for a paused breaker's retry time


def accounts_overview() -> AccountsOverview:
    """Every configured account (no sandboxes) with its last notification and breaker."""
    providers = registry.configured_providers()
    now = routing.routing_now()
    breakers, available = _breaker_states(providers, now)
    rows = [_account_row(p, breakers.get(p.name)) for p in providers]
    return AccountsOverview(rows, available, now)


def credential_hint(value: str) -> str:
    """At most the last four characters of a credential (docs/api.md §10)."""
    return f"…{value[-4:]}" if len(value) >= HINT_MIN_LENGTH else "set"


def mode_coverage(mode: str) -> ModeCoverage:
    """Each payment method ``mode`` can take and in which currencies (from the registry)."""
    every = all_currencies()
    methods = []
    for method in PAYMENT_METHODS:
        taken = {c for c in every if registry.eligible_providers(mode, method, c)}
        if not taken:
            continue
        missing = every - taken
        if len(missing) <= FEW_MISSING:
            methods.append(MethodCoverage(method, None, sorted(missing)))
        else:
            methods.append(MethodCoverage(method, sorted(taken), []))
    return ModeCoverage(mode, methods)


def coverage_by_mode() -> list[ModeCoverage]:
    return [mode_coverage(mode) for mode in MODES]


def live_mode_warning() -> str | None:
    """Why a live key cannot take payments yet, or None when live mode can take some."""
    for provider in registry.all_providers():
        capabilities = provider.capabilities()
        if "live" in capabilities.modes and capabilities.methods:
            return None
    return (
        "Live mode cannot take any payment yet: no live provider account is configured, so "
        "every live payment session is refused with no_provider_available until the platform "
        "operator adds one."
    )


def live_key_warning(keys: Iterable[ApiKey]) -> str | None:
    """``live_mode_warning`` when one of ``keys`` is an active live key (the portal's pages
    that list a merchant's keys)."""
    if any(key.mode == "live" and not key.revoked for key in keys):
        return live_mode_warning()
    return None


def _account_row(provider: Provider, breaker: dict[str, Any] | None) -> AccountRow:
    account = provider.account
    assert account is not None, "only configured accounts are listed"
    capabilities = provider.capabilities()
    fees = [FeeRow(m, f.percent, f.fixed_eur_cents) for m, f in sorted(capabilities.fees.items())]
    return AccountRow(
        name=provider.name,
        display_name=provider.display_name,
        type=account.type,
        mode=account.mode,
        methods=sorted(capabilities.methods),
        currencies=sorted(capabilities.currencies) if capabilities.currencies else None,
        fees=fees,
        notification_url=notification_url(provider.name),
        credentials={k: credential_hint(v) for k, v in sorted(account.credentials.items())},
        last_notification=_last_notification(provider.name),
        breaker=breaker,
    )


def _last_notification(provider_name: str) -> LastNotification | None:
    row = db.session.scalar(
        select(ProviderNotification)
        .where(ProviderNotification.provider == provider_name)
        .order_by(ProviderNotification.pk.desc())
        .limit(1)
    )
    if row is None:
        return None
    return LastNotification(row.received_at, row.reported_status, row.effect)


def _breaker_states(
    providers: list[Provider], now: float
) -> tuple[dict[str, dict[str, Any]], bool]:
    """The router's breaker per account (one breaker per mode and provider, whatever the
    segment asked about); ``False`` when the routing store cannot be reached."""
    router = routing.get_router()
    states: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        names = [p.name for p in providers if mode in p.capabilities().modes]
        if not names:
            continue
        context = {"mode": mode, "payment_method": "card", "currency": "EUR", "amount": 0}
        try:
            states.update(router.provider_status(context, names, now=now))
        except StoreUnavailable:
            return {}, False
    return states, True
