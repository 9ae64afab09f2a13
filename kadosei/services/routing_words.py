"""Routing decisions in a merchant's words: one plain sentence per attempt, from the
explanation stored with it (kadosei.routing.explanation, kadosei.services.routing).

Pure functions of the stored dict plus the providers' display names: the numbers stay in the
portal's "Details" disclosure; the sentence says what happened and why, without the router's
own vocabulary (expected value is the one term kept: it is what routing optimises).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from kadosei.currencies import format_amount
from kadosei.providers import registry

# Every reason an explanation can carry: the router's (kadosei.routing.explanation), the
# service's fallback and the operator's split (kadosei.services.routing).
REASONS = (
    "exploit",
    "explore",
    "hold",
    "probe",
    "all_breakers_open",
    "store_unavailable",
    "router_error",
    "rule",
)

METHOD_WORDS = {
    "card": "card",
    "ideal": "iDEAL",
    "bancontact": "Bancontact",
    "sepa_debit": "SEPA Direct Debit",
    "paypal": "PayPal",
    "klarna": "Klarna",
}

NO_NAMES: Mapping[str, str] = MappingProxyType({})  # ids are shown as they are

STATE_WORDS = {"closed": "working", "open": "paused", "half_open": "re-testing"}


def provider_names() -> dict[str, str]:
    """Each registered provider's id → the name merchants know it by."""
    return {provider.name: provider.display_name for provider in registry.all_providers()}


def display_name(provider: str | None, names: Mapping[str, str]) -> str:
    if not provider:
        return "no provider"
    return names.get(provider, provider)


def attempt_sentence(
    why: Mapping[str, Any] | None, provider: str | None = None, names: Mapping[str, str] = NO_NAMES
) -> str:
    """Why ``provider`` (default: the decision's first choice) got this attempt, in one sentence."""
    if not why:
        return "No routing decision was recorded for this attempt."
    provider = provider or why.get("chosen")
    name = display_name(provider, names)
    tried = why.get("failover_after") or []
    if tried:
        return f"Retried on {name} after {_join(tried, names)} could not be reached"
    rules = why.get("rules") or []
    split = next((r for r in rules if r.get("kind") == "fixed_split"), None)
    if why.get("reason") == "rule" and split is not None:
        return f"Sent to {name}: {_split_words(split, names)}"
    pin = next((r for r in rules if r.get("kind") == "pin_providers"), None)
    if pin is not None:
        return f"Sent to {name}: {_pin_words(pin, names)}"
    return _reason_sentence(why, provider, name, names)


def _reason_sentence(
    why: Mapping[str, Any], provider: str | None, name: str, names: Mapping[str, str]
) -> str:
    reason = why.get("reason")
    candidates = why.get("candidates") or []
    mine = _candidate(candidates, provider)
    segment = segment_words(why.get("segment") or {})
    if reason == "exploit":
        paused = _paused_better(candidates, mine, why.get("amount"))
        if paused is not None:
            return f"Sent to {name}: {_pause_words(paused, names)}"
        if len(candidates) == 1:
            return f"Sent to {name}: the only provider for {segment}"
        return f"Sent to {name}: the best expected value for {segment} ({_figures(why, mine)})"
    if reason == "explore":
        return f"Sent to {name} as a small test of a provider we know less about"
    if reason == "hold":
        challenger = _challenger(candidates, provider)
        other = display_name(challenger, names) if challenger else "another provider"
        return (
            f"Kept on {name}, the cheapest: {other} looks better but not yet by enough to be sure"
        )
    if reason == "probe":
        return f"Sent to {name} as a single test payment, to check it has recovered from errors"
    if reason == "all_breakers_open":
        return (
            f"Sent to {name}: every provider is paused after errors"
            f" and {name} looked most likely to work"
        )
    if reason in ("store_unavailable", "router_error"):
        return _default_order_sentence(reason, name, mine)
    if reason == "rule":
        return f"Sent to {name} by a rule the operator set"
    return f"Sent to {name}"


def retry_sentence(
    why: Mapping[str, Any] | None, names: Mapping[str, str] = NO_NAMES
) -> str | None:
    """For a retry after a declined attempt: which providers were passed over and why, and
    which were not (an issuer's decline follows the card to any provider). None otherwise."""
    retry = (why or {}).get("retry")
    if not retry:
        return None
    words = [f"Attempt {retry.get('attempt', 2)}, a retry after a declined payment"]
    passed = retry.get("passed_over") or []
    if passed and retry.get("none_left"):
        words.append(
            f"{_join([p['provider'] for p in passed], names)} declined or failed before, but no"
            " other provider could take the payment, so it was tried again"
        )
    for row in passed if not retry.get("none_left") else ():
        who = display_name(row.get("provider"), names)
        if row.get("cause") == "error":
            words.append(f"{who} was passed over: it could not be reached for this payment")
        else:
            words.append(
                f"{who} was passed over: its decline ({_code_words(row.get('code'))}) is one"
                " another provider may not share"
            )
    for row in retry.get("issuer_declines") or []:
        words.append(
            f"{display_name(row.get('provider'), names)} was not passed over: its decline"
            f" ({_code_words(row.get('code'))}) comes from the card's bank and would be the same"
            " anywhere"
        )
    return "; ".join(words)


def _code_words(code: str | None) -> str:
    return (code or "payment failed").replace("_", " ")


def _default_order_sentence(reason: str, name: str, mine: Mapping[str, Any]) -> str:
    cheapest = ", the cheapest" if mine.get("fee") is not None else ""
    if reason == "store_unavailable":
        cause = "routing figures were unavailable"
    else:
        cause = "the routing calculation failed"
    return f"Sent to {name}{cheapest}: {cause}, so the standard order (lowest fee first) was used"


def segment_words(segment: Mapping[str, Any]) -> str:
    """``{"payment_method": "card", "currency": "EUR"}`` → ``card payments in EUR``."""
    method = segment.get("payment_method")
    words = f"{METHOD_WORDS.get(method, method)} payments" if method else "payments"
    currency = segment.get("currency")
    return f"{words} in {currency}" if currency else words


def rule_words(rule: Mapping[str, Any], names: Mapping[str, str] = NO_NAMES) -> str:
    """One operator rule as the merchant should read it."""
    kind = rule.get("kind")
    if kind == "pin_providers":
        words = _pin_words(rule, names)
    elif kind == "fixed_split":
        words = _split_words(rule, names)
    elif kind == "disable_provider":
        whose = "your account" if _is_yours(rule) else "every account"
        words = f"{display_name(rule.get('provider'), names)} is switched off for {whose}"
    else:
        words = f"the operator's {str(kind).replace('_', ' ')} rule applies"
    words = words[0].upper() + words[1:]
    return f"{words} — “{rule['note']}”" if rule.get("note") else words


def state_words(state: str | None) -> str:
    """A breaker state as a merchant reads it: working, paused or re-testing."""
    return STATE_WORDS.get(state or "", "unknown")


def pause_words(status: Mapping[str, Any], now: float | None = None) -> str | None:
    """Why a provider is paused and when it is tried again; None when it is working.

    ``status`` is a candidate of an explanation or a row of the routing overview.
    """
    state = status.get("breaker")
    errors = status.get("errors_in_a_row")
    retry_at = status.get("retry_at")
    if state == "open":
        cause = f"{errors} errors in a row" if errors and errors > 1 else "repeated errors"
        if retry_at is None:
            return f"Paused after {cause}"
        if now is not None and retry_at <= now:
            return f"Paused after {cause}; tried again with the next payment"
        return f"Paused after {cause}; tried again at {clock_time(retry_at)}"
    if state == "half_open":
        since = f" at {clock_time(retry_at)}" if retry_at else ""
        return f"Recovering: one test payment sent{since} decides whether it is used again"
    return None


def payments_seen(evidence: float) -> str:
    """How many recent payments an estimate rests on (the router counts them with decay)."""
    count = round(evidence)
    if count < 1:
        return "no payments yet"
    return "≈ 1 payment" if count == 1 else f"≈ {count:,} payments"


def clock_time(seconds: float) -> str:
    """Seconds since the epoch on the router's clock → ``14:05:10 UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def minor_amount(value: float | None, currency: str | None) -> str:
    """A fee or value in (fractional) minor units, rounded to a whole minor unit."""
    if value is None:
        return "unknown"
    return format_amount(round(value), currency or "")


def _figures(why: Mapping[str, Any], mine: Mapping[str, Any]) -> str:
    currency = (why.get("segment") or {}).get("currency")
    fee = minor_amount(mine.get("fee"), currency) if mine.get("fee") is not None else "unknown"
    return f"success {percent(mine.get('estimate'))}, fee {fee}"


def _candidate(candidates: Sequence[Mapping[str, Any]], provider: str | None) -> Mapping:
    return next((c for c in candidates if c.get("provider") == provider), {})


def _paused_better(
    candidates: Sequence[Mapping[str, Any]], mine: Mapping[str, Any], amount: int | None
) -> Mapping[str, Any] | None:
    """A paused provider that would have been chosen had it been answering, if any."""
    value = mine.get("ev")
    if value is None:
        return None
    for c in candidates:
        if c.get("breaker") == "open" and _value_if_answering(c, amount) > value:
            return c
    return None


def _value_if_answering(candidate: Mapping[str, Any], amount: int | None) -> float:
    """Its expected value without its API errors: what it is worth once it recovers."""
    rate, fee = candidate.get("success_when_answered"), candidate.get("fee_used")
    if rate is None or fee is None or amount is None:
        return candidate.get("ev") or 0.0
    return rate * (amount - fee)


def _challenger(candidates: Sequence[Mapping[str, Any]], provider: str | None) -> str | None:
    """The working provider with the best expected value other than the one kept."""
    others = [
        c
        for c in candidates
        if c.get("provider") != provider and c.get("breaker") == "closed" and c.get("ev")
    ]
    return max(others, key=lambda c: c["ev"])["provider"] if others else None


def _pause_words(candidate: Mapping[str, Any], names: Mapping[str, str]) -> str:
    who = display_name(candidate.get("provider"), names)
    retry_at = candidate.get("retry_at")
    when = f" and will be tried again at {clock_time(retry_at)}" if retry_at else ""
    return f"{who} is paused after errors{when}"


def _is_yours(rule: Mapping[str, Any]) -> bool:
    return rule.get("scope") not in (None, "global")


def _pin_words(rule: Mapping[str, Any], names: Mapping[str, str]) -> str:
    allowed = _join(rule.get("providers") or [], names)
    if _is_yours(rule):
        return f"your account is pinned to {allowed} by the operator"
    return f"the operator limits every account to {allowed}"


def _split_words(rule: Mapping[str, Any], names: Mapping[str, str]) -> str:
    weights = rule.get("weights_used") or rule.get("weights") or {}
    total = sum(weights.values()) or 1.0
    shares = ", ".join(
        f"{display_name(p, names)} {round(100 * w / total)}%" for p, w in weights.items()
    )
    whose = "your payments" if _is_yours(rule) else "payments"
    return f"the operator shares {whose} between providers ({shares})"


def _join(providers: Sequence[str], names: Mapping[str, str]) -> str:
    words = [display_name(p, names) for p in providers]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"
