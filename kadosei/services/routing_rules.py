"""The operator's routing rules: disable a provider, pin a merchant to providers, or split a
merchant's traffic by fixed weights for a test. The learned router decides everything else.

Rules come from two sources an operator controls, read together on every decision:

* ``KADOSEI_ROUTING`` (config or environment): a JSON document, or the path of a file holding
  one, parsed and checked once when the app starts (a bad one refuses to start);
* rows stored by ``flask --app app routing …`` (seen by every process at once).

A rule without ``merchant_id`` applies to every merchant. Disables add up; for ``pin_providers``
and ``fixed_split`` a merchant's own rule beats a global one, and a stored rule beats the
configured one of the same scope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select

from kadosei.config import ConfigError
from kadosei.errors import InvalidRequest, KadoseiError, invalid, missing, not_found
from kadosei.extensions import db
from kadosei.hot_cache import hot_cache
from kadosei.models import ROUTING_RULE_KINDS, Merchant, RoutingRule
from kadosei.providers.registry import all_providers

CONFIG_KEY = "KADOSEI_ROUTING"
_FIELDS = {
    "disable_provider": "provider",
    "pin_providers": "providers",
    "fixed_split": "weights",
}
SPLIT_BUCKETS = 10_000


@dataclass(frozen=True)
class Rule:
    """One rule, wherever it came from (``source``: ``config`` or the stored rule's id)."""

    kind: str
    merchant_id: str | None
    data: Mapping[str, Any]
    source: str
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        """The rule as an explanation names it."""
        described = {
            "kind": self.kind,
            "source": self.source,
            "scope": self.merchant_id or "global",
        }
        if self.note:
            described["note"] = self.note
        return {**described, **self.data}


@dataclass
class RulePlan:
    """What the rules leave to the router for one session."""

    allowed: list[str]
    excluded: list[dict[str, str]] = field(default_factory=list)
    pin: Rule | None = None
    split: Rule | None = None
    disables: list[Rule] = field(default_factory=list)  # those that left a provider out

    def applied(self) -> list[Rule]:
        """The rules that shaped this decision's candidates (the split is added by its user)."""
        return ([self.pin] if self.pin is not None else []) + self.disables


# -- reading and checking rules ---------------------------------------------------------------


def clean_rule_data(kind: str, data: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The rule's data, checked; ``InvalidRequest`` naming the bad field otherwise."""
    if kind not in ROUTING_RULE_KINDS:
        raise invalid("kind", f"kind must be one of {', '.join(ROUTING_RULE_KINDS)}")
    name = _FIELDS[kind]
    for given in data:
        if given != name:
            raise InvalidRequest(
                f"Received unknown parameter: {given}", param=given, code="parameter_unknown"
            )
    value = data.get(name)
    if value is None:
        raise missing(name)
    known = set(known)
    if kind == "disable_provider":
        return {"provider": _provider(value, known, name)}
    if kind == "pin_providers":
        if not isinstance(value, list) or not value:
            raise invalid(name, "providers must be a non-empty list of provider names")
        names = [_provider(item, known, name) for item in value]
        if len(set(names)) != len(names):
            raise invalid(name, "providers must not repeat a provider")
        return {"providers": names}
    return {"weights": _weights(value, known, name)}


def _provider(value: Any, known: set[str], param: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise invalid(param, f"Unknown provider {value!r}; known: {', '.join(sorted(known))}")
    return value


def _weights(value: Any, known: set[str], param: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise invalid(param, "weights must be an object of provider name → positive number")
    weights = {}
    for name, weight in value.items():
        _provider(name, known, param)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise invalid(param, f"The weight of {name} must be a positive number")
        if weight > 1_000_000:
            raise invalid(param, f"The weight of {name} is too large")
        weights[name] = float(weight)
    return weights


def parse_configured_rules(raw: str | list | dict | None, known: Iterable[str]) -> list[Rule]:
    """``KADOSEI_ROUTING`` as rules: JSON text, a file path, or already-parsed JSON."""
    if raw is None or raw == "":
        return []
    document = _load_document(raw)
    items = document.get("rules") if isinstance(document, dict) else document
    if isinstance(document, dict):
        unknown = set(document) - {"rules"}
        if unknown:
            raise ConfigError(f"{CONFIG_KEY}: unknown key {sorted(unknown)[0]!r}")
    if not isinstance(items, list):
        raise ConfigError(f'{CONFIG_KEY} must be a list of rules or {{"rules": [...]}}')
    known = list(known)
    return [_configured_rule(position, item, known) for position, item in enumerate(items)]


def _load_document(raw: str | list | dict) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if not text.startswith(("{", "[")):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{CONFIG_KEY}: cannot read {raw}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{CONFIG_KEY} is not valid JSON: {exc}") from None


def _configured_rule(position: int, item: Any, known: list[str]) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"{CONFIG_KEY}: rule {position} is not an object")
    body = dict(item)
    kind, merchant_id = body.pop("kind", None), body.pop("merchant_id", None)
    note = body.pop("note", None)
    if merchant_id is not None and not isinstance(merchant_id, str):
        raise ConfigError(f"{CONFIG_KEY}: rule {position}: merchant_id must be a string")
    try:
        data = clean_rule_data(str(kind), body, known)
    except KadoseiError as exc:
        raise ConfigError(f"{CONFIG_KEY}: rule {position}: {exc.message}") from None
    return Rule(kind, merchant_id, data, "config", note if isinstance(note, str) else None)


def load_configured_rules(app: Flask) -> list[Rule]:
    """Parse and keep the app's ``KADOSEI_ROUTING`` (once per app; ``create_app`` calls this
    so that a bad setting stops the start, not a checkout)."""
    rules = app.extensions.get("kadosei_routing_rules")
    if rules is None:
        with app.app_context():  # the app's own registry, with its configured accounts
            known = [provider.name for provider in all_providers()]
        raw = app.config[CONFIG_KEY]
        rules = parse_configured_rules(raw, known)
        app.extensions["kadosei_routing_rules"] = rules
    return rules


def rules_for(merchant_id: str) -> list[Rule]:
    """Every rule that applies to the merchant: configured first, then stored, oldest first.
    The stored ones are read once per ``KADOSEI_HOT_CACHE_SECONDS`` (every checkout asks)."""
    configured = [
        rule
        for rule in load_configured_rules(current_app)
        if rule.merchant_id in (None, merchant_id)
    ]
    stored = hot_cache("routing_rules").get(merchant_id, lambda: _read_stored(merchant_id))
    return configured + list(stored)


def _read_stored(merchant_id: str) -> tuple[Rule, ...]:
    rows = db.session.scalars(
        select(RoutingRule)
        .where(or_(RoutingRule.merchant_id.is_(None), RoutingRule.merchant_id == merchant_id))
        .order_by(RoutingRule.pk)
    )
    return tuple(_stored(row) for row in rows)


def _stored(row: RoutingRule) -> Rule:
    return Rule(row.kind, row.merchant_id, dict(row.data or {}), row.id, row.note)


# -- applying them ------------------------------------------------------------------------------


def plan(rules: Sequence[Rule], providers: Sequence[str]) -> RulePlan:
    """Which of ``providers`` the rules allow, and the pin and split that apply."""
    disabled = {r.data["provider"]: r for r in rules if r.kind == "disable_provider"}
    pin = _winning(rules, "pin_providers")
    result = RulePlan(allowed=[], pin=pin, split=_winning(rules, "fixed_split"))
    for name in providers:
        if name in disabled:
            rule = disabled[name]
            result.disables.append(rule)
            result.excluded.append({"provider": name, "rule": rule.kind, "source": rule.source})
        elif pin is not None and name not in pin.data["providers"]:
            result.excluded.append({"provider": name, "rule": pin.kind, "source": pin.source})
        else:
            result.allowed.append(name)
    return result


def _winning(rules: Sequence[Rule], kind: str) -> Rule | None:
    """The merchant's own rule of ``kind`` over a global one; the later one within a scope."""
    matching = [r for r in rules if r.kind == kind]
    own = [r for r in matching if r.merchant_id is not None]
    chosen = own or matching
    return chosen[-1] if chosen else None


def split_bucket(session_id: str) -> float:
    """A number in [0, 1) fixed by the session id: the same session always lands alike."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % SPLIT_BUCKETS / SPLIT_BUCKETS


def split_pick(weights: Mapping[str, float], session_id: str) -> str | None:
    """The provider a fixed split gives this session (weights in name order), or None."""
    total = sum(weights.values())
    if total <= 0:
        return None
    point = split_bucket(session_id) * total
    for name in sorted(weights):
        point -= weights[name]
        if point < 0:
            return name
    return sorted(weights)[-1]


# -- the operator's use cases (the CLI) ---------------------------------------------------------


def add_rule(
    kind: str, data: Mapping[str, Any], merchant_id: str | None = None, note: str | None = None
) -> RoutingRule:
    """Store a rule (checked against the registry and the merchants); commits."""
    cleaned = clean_rule_data(kind, data, [p.name for p in all_providers()])
    known_merchant = select(Merchant.id).where(Merchant.id == merchant_id)
    if merchant_id is not None and db.session.scalar(known_merchant) is None:
        raise not_found("merchant", merchant_id)
    if note is not None and len(note) > 200:
        raise invalid("note", "note must be at most 200 characters")
    row = RoutingRule(kind=kind, merchant_id=merchant_id, data=cleaned, note=note)
    db.session.add(row)
    db.session.commit()
    hot_cache("routing_rules").forget()
    return row


def remove_rule(rule_id: str) -> RoutingRule:
    """Delete a stored rule; commits."""
    row = db.session.scalar(select(RoutingRule).where(RoutingRule.id == rule_id))
    if row is None:
        raise not_found("routing rule", rule_id)
    db.session.delete(row)
    db.session.commit()
    hot_cache("routing_rules").forget()
    return row


def list_rules(merchant_id: str | None = None) -> list[Rule]:
    """Configured and stored rules (only those touching ``merchant_id`` when given)."""
    query = select(RoutingRule).order_by(RoutingRule.pk)
    configured = load_configured_rules(current_app)
    if merchant_id is not None:
        query = query.where(
            or_(RoutingRule.merchant_id.is_(None), RoutingRule.merchant_id == merchant_id)
        )
        configured = [r for r in configured if r.merchant_id in (None, merchant_id)]
    return configured + [_stored(row) for row in db.session.scalars(query)]
