"""Provider accounts from ``KADOSEI_PROVIDERS`` (docs/api.md §10), checked at start.

The setting is a JSON document, or the path of a file holding one. Every problem is a
``ConfigError`` that names the account and the field; no message, log line or ``repr`` ever
holds a credential's value (only where it comes from: ``env:NAME`` or ``file:PATH``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kadosei.config import ConfigError, environment_secret
from kadosei.currencies import is_currency
from kadosei.models import PAYMENT_METHODS
from kadosei.providers.base import Fee, ProviderAccount

TYPES = ("stripe", "mollie", "adyen")
ACCOUNT_MODES = ("live", "test")
# Credentials each type needs; the secret ones must come from env: or file:, never literal.
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "stripe": ("secret_key", "webhook_secret"),
    "mollie": ("api_key",),
    "adyen": ("api_key", "merchant_account", "hmac_key"),
}
REQUIRED_IN_LIVE: dict[str, tuple[str, ...]] = {"adyen": ("live_url_prefix",)}
# Identifiers, not secrets: these may be written as they are.
PLAIN_CREDENTIALS = frozenset({"merchant_account", "live_url_prefix"})
ACCOUNT_FIELDS = frozenset(
    {"name", "type", "mode", "credentials", "methods", "currencies", "fees", "api_base"}
    | {"timeout_seconds"}
)
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_PREFIX = "sandbox_"
DEFAULT_TIMEOUT_SECONDS = 10.0


def load_accounts(
    setting: str | None, reserved: frozenset[str] = frozenset()
) -> list[ProviderAccount]:
    """The accounts ``setting`` declares (empty when unset), credentials resolved.

    ``reserved``: names already taken (the sandbox providers)."""
    if not setting or not setting.strip():
        return []
    document = _read_document(setting)
    if not isinstance(document, dict) or set(document) != {"providers"}:
        raise ConfigError('KADOSEI_PROVIDERS must be an object {"providers": [...]}')
    entries = document["providers"]
    if not isinstance(entries, list):
        raise ConfigError("KADOSEI_PROVIDERS: providers must be a list")
    accounts: list[ProviderAccount] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        account = parse_account(entry, index)
        if account.name in reserved or account.name in seen:
            raise ConfigError(
                f"KADOSEI_PROVIDERS: provider name {account.name!r} is used twice "
                "(names must differ from each other and from the sandbox providers)"
            )
        seen.add(account.name)
        accounts.append(account)
    return accounts


def _read_document(setting: str) -> Any:
    text = setting.strip()
    if not text.startswith(("{", "[")):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"KADOSEI_PROVIDERS: cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"KADOSEI_PROVIDERS is not valid JSON: {exc}") from None


def parse_account(entry: Any, index: int) -> ProviderAccount:
    """One account, or a ``ConfigError`` saying what is wrong with it."""
    where = f"KADOSEI_PROVIDERS: providers[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: name must be 2-40 lowercase letters, digits or _ starting with a letter"
        )
    if name.startswith(RESERVED_PREFIX):
        raise ConfigError(f"{where}: name {name!r} is reserved for the sandbox providers")
    where = f"KADOSEI_PROVIDERS: provider {name!r}"
    unknown = sorted(set(entry) - ACCOUNT_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}")
    kind = entry.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}: unknown type {kind!r} (one of {', '.join(TYPES)})")
    mode = entry.get("mode")
    if mode not in ACCOUNT_MODES:
        raise ConfigError(f"{where}: mode must be live or test, not {mode!r}")
    return ProviderAccount(
        name=name,
        type=kind,
        mode=mode,
        credentials=_credentials(entry.get("credentials"), kind, mode, where),
        methods=_methods(entry.get("methods"), where),
        currencies=_currencies(entry.get("currencies"), where),
        fees=_fees(entry.get("fees"), where),
        api_base=_api_base(entry.get("api_base"), where),
        timeout_seconds=_timeout(entry.get("timeout_seconds"), where),
    )


def _credentials(value: Any, kind: str, mode: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: credentials must be an object")
    needed = REQUIRED_CREDENTIALS[kind] + (REQUIRED_IN_LIVE.get(kind, ()) if mode == "live" else ())
    for key in needed:
        if key not in value:
            raise ConfigError(f"{where}: credential {key!r} is missing ({kind} needs {needed})")
    known = set(REQUIRED_CREDENTIALS[kind]) | set(REQUIRED_IN_LIVE.get(kind, ()))
    resolved: dict[str, str] = {}
    for key, reference in value.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown credential {key!r}")
        resolved[key] = resolve_credential(reference, key, where)
    return resolved


def resolve_credential(reference: Any, key: str, where: str) -> str:
    """The value ``env:NAME`` or ``file:PATH`` points at; a literal is refused (for the
    secret ones) without repeating it."""
    if not isinstance(reference, str) or not reference:
        raise ConfigError(f"{where}: credential {key!r} must be a string")
    source, _, target = reference.partition(":")
    if source == "env" and target:
        secret = environment_secret(target)
        if not secret:
            raise ConfigError(
                f"{where}: credential {key!r}: environment variable {target} is unset or empty"
            )
        return secret
    if source == "file" and target:
        try:
            secret = Path(target).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{where}: credential {key!r}: cannot read {target}: {exc.strerror}"
            ) from None
        if not secret:
            raise ConfigError(f"{where}: credential {key!r}: file {target} is empty")
        return secret
    if key in PLAIN_CREDENTIALS:
        return reference
    raise ConfigError(
        f"{where}: credential {key!r} must be env:NAME or file:PATH, never the secret itself"
    )


def _methods(value: Any, where: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: methods must be a non-empty list")
    for method in value:
        if method not in PAYMENT_METHODS:
            raise ConfigError(
                f"{where}: unknown method {method!r} (one of {', '.join(PAYMENT_METHODS)})"
            )
    return frozenset(value)


def _currencies(value: Any, where: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: currencies must be a non-empty list")
    for currency in value:
        if not isinstance(currency, str) or not is_currency(currency):
            raise ConfigError(f"{where}: {currency!r} is not an ISO 4217 currency code")
    return frozenset(value)


def _fees(value: Any, where: str) -> Mapping[str, Fee] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: fees must be an object by method")
    fees: dict[str, Fee] = {}
    for method, fee in value.items():
        if method != "*" and method not in PAYMENT_METHODS:
            raise ConfigError(f"{where}: fees name unknown method {method!r}")
        if not isinstance(fee, dict) or set(fee) != {"percent", "fixed"}:
            raise ConfigError(f"{where}: fee for {method!r} must be {{percent, fixed}}")
        percent, fixed = fee["percent"], fee["fixed"]
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise ConfigError(f"{where}: fee percent for {method!r} must be a number")
        if not 0 <= percent < 100:
            raise ConfigError(f"{where}: fee percent for {method!r} must be in [0, 100)")
        if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
            raise ConfigError(
                f"{where}: fee fixed for {method!r} must be a whole number of EUR cents ≥ 0"
            )
        fees[method] = Fee(float(percent), fixed)
    return fees


def _api_base(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"{where}: api_base must be an http(s) URL")
    return value.rstrip("/")


def _timeout(value: Any, where: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
        raise ConfigError(f"{where}: timeout_seconds must be a number in (0, 60]")
    return float(value)


def fees_with_defaults(
    defaults: Mapping[str, Fee], methods: frozenset[str], overrides: Mapping[str, Fee] | None
) -> dict[str, Fee]:
    """An account's fee per method: its own (by method, then ``*``), else the adapter's."""
    if not overrides:
        return {m: defaults[m] for m in methods if m in defaults}
    fees: dict[str, Fee] = {}
    for method in methods:
        fee = overrides.get(method) or overrides.get("*") or defaults.get(method)
        if fee is not None:
            fees[method] = fee
    return fees
