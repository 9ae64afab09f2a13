"""Which providers a session's checkout tries, in order, and why: the seam routing plugs into.

The learned router (:mod:`kadosei.services.routing`) ranks the eligible providers by expected
value, with the operator's rules around it. Each choice carries an explanation that is stored
on the attempt and shown in the portal.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from kadosei.currencies import minor_unit
from kadosei.models import PaymentSession
from kadosei.providers import registry
from kadosei.providers.base import Provider
from kadosei.services import routing


def eligible_providers(mode: str, method: str, currency: str) -> list[Provider]:
    """Enabled providers in ``mode`` that support ``method`` in ``currency``."""
    return list(registry.eligible_providers(mode, method, currency))


def get_provider(name: str) -> Provider | None:
    return registry.get_provider(name)


def fee_for(provider: Provider, method: str, amount: int, currency: str) -> int | None:
    """The provider's fee for this payment in the currency's minor units (None: no price)."""
    fee = provider.capabilities().fees.get(method)
    if fee is None:
        return None
    variable = (Decimal(str(fee.percent)) * amount / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return int(variable) + fee.fixed_in(minor_unit(currency))


def rank_providers(session: PaymentSession) -> list[tuple[Provider, dict]]:
    """The providers to try for ``session``, best first, each with its explanation. After a
    decline, those whose decline another provider may not share are passed over (§5)."""
    return routing.rank_providers(session)
