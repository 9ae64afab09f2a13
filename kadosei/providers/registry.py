"""Which providers exist and which may take a payment.

The payment services call ``all_providers``, ``get_provider`` and ``eligible_providers``; they
never import an adapter. Each app has its own registry (``init_providers``, from
``create_app``): the built-in sandbox providers (test mode only), then one adapter per account
configured in ``KADOSEI_PROVIDERS`` (docs/api.md §10), each a routing candidate of its own.
Outside an app context only the sandbox providers are known.
"""

from __future__ import annotations

import importlib

from flask import Flask, current_app, has_app_context

from kadosei.config import ConfigError
from kadosei.providers.accounts import load_accounts
from kadosei.providers.base import Provider, ProviderAccount
from kadosei.providers.sandbox.adapter import SandboxProvider, disabled_sandbox_providers
from kadosei.providers.sandbox.harbor import HarborProvider
from kadosei.providers.sandbox.lumen import LumenProvider
from kadosei.providers.sandbox.orbit import OrbitProvider

# Stateless adapters, built once; their order is the registry's stable order.
_SANDBOXES: tuple[Provider, ...] = (LumenProvider(), HarborProvider(), OrbitProvider())
# account type -> (module, class); imported when an account of that type is configured.
ADAPTER_CLASSES = {
    "stripe": ("kadosei.providers.stripe", "StripeProvider"),
    "mollie": ("kadosei.providers.mollie", "MollieProvider"),
    "adyen": ("kadosei.providers.adyen", "AdyenProvider"),
}
_EXTENSION = "kadosei.providers"


def init_providers(app: Flask) -> None:
    """Check ``KADOSEI_PROVIDERS`` and build the app's registry; ``ConfigError`` if invalid."""
    reserved = frozenset(p.name for p in _SANDBOXES)
    accounts = load_accounts(app.config["KADOSEI_PROVIDERS"], reserved)
    configured = tuple(adapter_for(account) for account in accounts)
    app.extensions[_EXTENSION] = _SANDBOXES + configured


def adapter_for(account: ProviderAccount) -> Provider:
    """The adapter of ``account``'s type, built for it."""
    module_name, class_name = ADAPTER_CLASSES[account.type]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(
            f"KADOSEI_PROVIDERS: provider {account.name!r}: type {account.type!r} is not "
            "available in this version of kadosei"
        ) from None
    return getattr(module, class_name)(account)


def _providers() -> tuple[Provider, ...]:
    if has_app_context():
        return current_app.extensions.get(_EXTENSION, _SANDBOXES)
    return _SANDBOXES


def all_providers() -> list[Provider]:
    return list(_providers())


def get_provider(name: str) -> Provider | None:
    return next((p for p in _providers() if p.name == name), None)


def configured_providers() -> list[Provider]:
    """The adapters of the configured accounts (no sandboxes)."""
    return [p for p in _providers() if p not in _SANDBOXES]


def sandbox_providers() -> list[SandboxProvider]:
    return [p for p in _SANDBOXES if isinstance(p, SandboxProvider)]


def eligible_providers(mode: str, method: str, currency: str) -> list[Provider]:
    """The providers that can take ``method`` in ``currency`` and ``mode`` (no
    ``ineligible_reason``) and that the operator has not disabled, in registry order (routing
    ranks them)."""
    supported = [p for p in _providers() if p.ineligible_reason(mode, method, currency) is None]
    if not supported:
        return []
    disabled = disabled_sandbox_providers()
    return [provider for provider in supported if provider.name not in disabled]


def skipped_providers(mode: str, method: str, currency: str, amount: int) -> dict[str, str]:
    """Providers that take ``method`` in ``mode`` but not this currency or amount, each with
    the reason in plain words (for routing's explanation)."""
    skipped: dict[str, str] = {}
    for provider in _providers():
        capabilities = provider.capabilities()
        if mode not in capabilities.modes or method not in capabilities.methods:
            continue
        reason = provider.ineligible_reason(mode, method, currency)
        if reason is None:
            reason = provider.amount_ineligible_reason(amount, currency)
        if reason is not None:
            skipped[provider.name] = reason
    return skipped
