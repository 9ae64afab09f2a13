"""Which providers exist and which may take a payment.

The payment services call ``all_providers``, ``get_provider`` and ``eligible_providers``; they
never import an adapter. The built-in sandbox providers are always registered (test mode
only); configuring real providers is future work.
"""

from __future__ import annotations

from kadosei.providers.base import Provider
from kadosei.providers.sandbox.adapter import SandboxProvider, disabled_sandbox_providers
from kadosei.providers.sandbox.harbor import HarborProvider
from kadosei.providers.sandbox.lumen import LumenProvider
from kadosei.providers.sandbox.orbit import OrbitProvider

# Stateless adapters, built once; their order is the registry's stable order.
_PROVIDERS: tuple[Provider, ...] = (LumenProvider(), HarborProvider(), OrbitProvider())
_BY_NAME = {provider.name: provider for provider in _PROVIDERS}


def all_providers() -> list[Provider]:
    return list(_PROVIDERS)


def get_provider(name: str) -> Provider | None:
    return _BY_NAME.get(name)


def sandbox_providers() -> list[SandboxProvider]:
    return [p for p in _PROVIDERS if isinstance(p, SandboxProvider)]


def eligible_providers(mode: str, method: str, currency: str) -> list[Provider]:
    """The providers that support ``method`` in ``currency`` and ``mode`` and that the
    operator has not disabled, in registry order (routing ranks them)."""
    supported = [p for p in _PROVIDERS if p.supports(mode, method, currency)]
    if not supported:
        return []
    disabled = disabled_sandbox_providers()
    return [provider for provider in supported if provider.name not in disabled]
