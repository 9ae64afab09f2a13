"""Which providers a session's checkout tries, in order, and why: the seam routing replaces.

For now a deterministic rule: the eligible providers for the session's mode, method and
currency, cheapest first for this amount, then by name. Each choice carries an explanation
that is stored on the attempt and shown in the portal.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from kadosei.models import PaymentSession
from kadosei.providers.base import Provider
from kadosei.services.currencies import minor_unit

STRATEGY = "static_fee_order"


def eligible_providers(mode: str, method: str, currency: str) -> list[Provider]:
    """Enabled providers in ``mode`` that support ``method`` in ``currency``."""
    from kadosei.providers import registry  # the provider registry is built beside us

    return list(registry.eligible_providers(mode, method, currency))


def get_provider(name: str) -> Provider | None:
    from kadosei.providers import registry

    return registry.get_provider(name)


def fee_for(provider: Provider, method: str, amount: int, currency: str) -> int | None:
    """The provider's fee for this payment in the currency's minor units (None: no price)."""
    fee = provider.capabilities().fees.get(method)
    if fee is None:
        return None
    variable = (Decimal(str(fee.percent)) * amount / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return int(variable) + fee.fixed_in(minor_unit(currency))


def rank_providers(session: PaymentSession) -> list[tuple[Provider, dict]]:
    """The providers to try for ``session``, best first, each with its explanation."""
    priced = []
    for provider in eligible_providers(session.mode, session.payment_method, session.currency):
        fee = fee_for(provider, session.payment_method, session.amount, session.currency)
        priced.append((fee if fee is not None else 2**62, provider.name, provider, fee))
    priced.sort(key=lambda row: (row[0], row[1]))
    candidates = [{"provider": name, "fee": fee} for _, name, _, fee in priced]
    return [
        (
            provider,
            {
                "strategy": STRATEGY,
                "rank": rank,
                "reason": "eligible providers, cheapest fee for this amount first, then name",
                "candidates": candidates,
            },
        )
        for rank, (_, _, provider, _) in enumerate(priced, start=1)
    ]
