"""The learned router in the service: rank a session's providers, learn from attempts.

One :class:`~kadosei.routing.Router` per app process keeps its statistics in the app's Redis,
shared by every web process and worker. Redis being down costs milliseconds: ``rank`` falls
back to the safe default order (``reason: store_unavailable``), outcomes are logged and
dropped, and after a failure Redis is left alone for a few seconds. The operator's rules
(:mod:`kadosei.services.routing_rules`) are applied around the router.

Outcomes are taught after the transaction that recorded them commits (a rolled-back change
teaches nothing), and each attempt teaches at most once, however many times and by whichever
road (notification, return confirmation, sandbox job) its outcome arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from kadosei.currencies import minor_unit
from kadosei.extensions import db
from kadosei.jobs.queue import redis_url
from kadosei.metrics import ROUTING_BREAKER_OPEN
from kadosei.models import Attempt, PaymentSession
from kadosei.providers import registry
from kadosei.providers.base import Provider
from kadosei.routing import Params, Router, StoreUnavailable, candidate_fee
from kadosei.routing.redis_store import RedisStore
from kadosei.services import routing_rules

log = logging.getLogger("kadosei.routing")

STRATEGY = "learned"
PREFIX = "kadosei:routing:"
TAUGHT_PREFIX = PREFIX + "taught:"
TAUGHT_TTL_SECONDS = 14 * 24 * 3600
TAUGHT_OUTCOMES = frozenset({"succeeded", "failed", "error"})
# Errors that are the request's fault, not the provider's: no evidence about the provider.
NOT_THE_PROVIDERS_FAULT = frozenset({"provider_bad_request"})
# Attempt errors that say nothing about the provider, so a retry does not pass it over.
NOT_A_PROVIDER_ERROR = frozenset({"abandoned"})
_PENDING = "kadosei_routing_outcomes"


# -- the router of this process -------------------------------------------------------------


class PausingStore:
    """A store that, once Redis has failed, stops asking it for a few seconds."""

    def __init__(self, inner: RedisStore, client: redis.Redis, pause_seconds: float) -> None:
        self.inner = inner
        self.client = client
        self.pause_seconds = pause_seconds
        self._paused_until = 0.0

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        if time.monotonic() < self._paused_until:
            raise StoreUnavailable("routing store paused after a failure")
        try:
            return method(*args)
        except StoreUnavailable:
            self._paused_until = time.monotonic() + self.pause_seconds
            raise

    def read(self, keys: Sequence[str], breaker_key: str, providers: Sequence[str]) -> Any:
        return self._call(self.inner.read, keys, breaker_key, providers)

    def record(self, *args: Any) -> None:
        self._call(self.inner.record, *args)

    def claim_probe(self, breaker_key: str, provider: str, now: float, params: Params) -> bool:
        return self._call(self.inner.claim_probe, breaker_key, provider, now, params)

    def mark_taught(self, attempt_id: str, outcome: str) -> bool:
        """True the first time an attempt's outcome is taught (atomic across processes)."""

        def first_time() -> bool:
            try:
                key = TAUGHT_PREFIX + attempt_id
                return bool(self.client.set(key, outcome, nx=True, ex=TAUGHT_TTL_SECONDS))
            except redis.RedisError as exc:
                raise StoreUnavailable(str(exc)) from exc

        return self._call(first_time)


def routing_client(app: Flask) -> redis.Redis:
    """A Redis client for routing alone: tight timeouts and no retries."""
    return redis.Redis.from_url(
        redis_url(app),
        socket_connect_timeout=app.config["KADOSEI_ROUTING_CONNECT_TIMEOUT"],
        socket_timeout=app.config["KADOSEI_ROUTING_SOCKET_TIMEOUT"],
        retry=Retry(NoBackoff(), 0),
    )


def get_router(app: Flask | None = None) -> Router:
    """This app's router (built on first use)."""
    app = app or current_app
    router = app.extensions.get("kadosei_router")
    if router is None:
        params = app.config["KADOSEI_ROUTING_PARAMS"] or Params()
        if isinstance(params, Mapping):
            params = Params(**params)
        pause = app.config["KADOSEI_ROUTING_STORE_PAUSE"]
        client = routing_client(app)
        store = PausingStore(RedisStore(client, prefix=PREFIX), client, pause)
        router = Router(seed=app.config["KADOSEI_ROUTING_SEED"], store=store, params=params)
        routing_rules.load_configured_rules(app)
        app.extensions["kadosei_router"] = router
    return router


def routing_now() -> float:
    """Seconds for the router: ``KADOSEI_ROUTING_CLOCK()`` when configured, else wall time."""
    clock = current_app.config["KADOSEI_ROUTING_CLOCK"]
    return float(clock()) if clock is not None else time.time()


def session_context(session: PaymentSession) -> dict[str, Any]:
    return {
        "mode": session.mode,
        "payment_method": session.payment_method,
        "currency": session.currency,
        "amount": session.amount,
    }


def provider_candidate(provider: Provider, method: str, currency: str) -> dict[str, Any]:
    """The router's candidate: the provider's fee for ``method`` in ``currency`` minor units."""
    fee = provider.capabilities().fees.get(method)
    if fee is None:
        return {"provider": provider.name, "fee_percent": None, "fee_fixed": None}
    return {
        "provider": provider.name,
        "fee_percent": fee.percent,
        "fee_fixed": fee.fixed_in(minor_unit(currency)),
    }


# -- deciding --------------------------------------------------------------------------------


def rank_providers(session: PaymentSession) -> list[tuple[Provider, dict]]:
    """The providers to try for ``session``, best first, each with its explanation."""
    eligible = registry.eligible_providers(session.mode, session.payment_method, session.currency)
    skipped = registry.skipped_providers(
        session.mode, session.payment_method, session.currency, session.amount
    )
    by_name = {provider.name: provider for provider in eligible if provider.name not in skipped}
    rules = routing_rules.rules_for(session.merchant_id)
    plan = routing_rules.plan(rules, list(by_name))
    if not plan.allowed:
        return []
    allowed, retry = pass_over_for_retry(session, plan.allowed)
    candidates = [
        provider_candidate(by_name[name], session.payment_method, session.currency)
        for name in allowed
    ]
    context = session_context(session)
    try:
        ranking = get_router().rank(context, candidates, now=routing_now())
        names, explanation = list(ranking), dict(ranking.explanation)
    except Exception:  # a router bug must not cost the customer the payment
        log.exception("routing: the router failed; using the default order")
        names, explanation = default_order(context, candidates)
    order, explanation = _apply_rules(session.id, names, explanation, plan)
    for candidate in explanation.get("candidates", []):
        if candidate.get("breaker") == "open":
            ROUTING_BREAKER_OPEN.labels(candidate.get("provider", "?")).inc()
    if retry is not None:
        explanation["retry"] = retry
    if skipped:  # the providers passed over, and why (e.g. an amount they cannot express)
        explanation["skipped"] = [
            {"provider": name, "reason": reason} for name, reason in sorted(skipped.items())
        ]
    return [
        (by_name[name], {**explanation, "strategy": STRATEGY, "rank": position})
        for position, name in enumerate(order, start=1)
    ]


def pass_over_for_retry(
    session: PaymentSession, allowed: list[str]
) -> tuple[list[str], dict[str, Any] | None]:
    """A retry after a decline (docs/api.md §5): leave out the providers whose decline (or
    error) in this session another provider may not share; an issuer's decline (insufficient
    funds, a stolen card) follows the card anywhere, so it leaves its provider in. When that
    would leave no provider at all, every allowed one stays. The second item says so for the
    explanation (None for a session's first try)."""
    if not session.attempts_failed:
        return allowed, None
    passed: dict[str, dict[str, Any]] = {}
    kept: list[dict[str, Any]] = []
    for attempt in session.attempts:
        if attempt.status == "failed":
            row = {"provider": attempt.provider, "attempt": attempt.id, "code": attempt.error_code}
            if attempt.retry_elsewhere:
                passed[attempt.provider] = {**row, "cause": "declined"}
            else:
                kept.append(row)
        elif attempt.status == "error" and attempt.error_code not in NOT_A_PROVIDER_ERROR:
            passed.setdefault(
                attempt.provider,
                {"provider": attempt.provider, "attempt": attempt.id,
                 "code": attempt.error_code, "cause": "error"},
            )  # fmt: skip
    remaining = [name for name in allowed if name not in passed]
    retry = {
        "attempt": session.attempts_failed + 1,
        "after": session.last_failure_attempt,
        "passed_over": [row for name, row in passed.items() if name in allowed],
        "issuer_declines": kept,
        # Every allowed provider would be passed over: they are all tried again instead.
        "none_left": not remaining,
    }
    return (remaining or allowed), retry


def default_order(
    context: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]
) -> tuple[list[str], dict[str, Any]]:
    """Cheapest known fee first, then by name: the order used when the router itself fails."""
    amount = context["amount"]
    scored = [(candidate_fee(c, amount), c["provider"]) for c in candidates]
    scored.sort(key=lambda item: (item[0] is None, item[0] or 0.0, item[1]))
    names = [name for _, name in scored]
    explanation = {
        "policy": "default-order",
        "reason": "router_error",
        "chosen": names[0] if names else None,
        "segment": {k: context[k] for k in ("mode", "payment_method", "currency")},
        "amount": amount,
        "eligible": names,
        "candidates": [
            {"provider": name, "rank": i, "fee": None if fee is None else round(fee, 2)}
            for i, (fee, name) in enumerate(scored, start=1)
        ],
    }
    return names, explanation


def _apply_rules(
    session_id: str, order: list[str], explanation: dict[str, Any], plan: routing_rules.RulePlan
) -> tuple[list[str], dict[str, Any]]:
    """Put a fixed split's pick first and say in the explanation which rules applied."""
    applied = [rule.describe() for rule in plan.applied()]
    explanation["excluded"] = plan.excluded
    if plan.split is not None:
        open_breakers = {
            c["provider"] for c in explanation.get("candidates", []) if c.get("breaker") == "open"
        }
        weights = {
            name: weight
            for name, weight in plan.split.data["weights"].items()
            if name in order and name not in open_breakers
        }
        pick = routing_rules.split_pick(weights, session_id)
        if pick is not None:
            order = [pick] + [name for name in order if name != pick]
            explanation["learned_reason"] = explanation.get("reason")
            explanation["reason"] = "rule"
            explanation["chosen"] = pick
            split = plan.split.describe()
            split["bucket"] = routing_rules.split_bucket(session_id)
            split["weights_used"] = weights
            applied.append(split)
    explanation["rules"] = applied
    explanation["order"] = order
    explanation["candidates"] = _in_order(explanation.get("candidates", []), order)
    return order, explanation


def _in_order(candidates: list[dict], order: list[str]) -> list[dict]:
    position = {name: i for i, name in enumerate(order)}
    ordered = sorted(candidates, key=lambda c: position.get(c["provider"], len(order)))
    return [{**c, "rank": i} for i, c in enumerate(ordered, start=1)]


# -- learning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    attempt_id: str
    provider: str
    outcome: str
    context: dict[str, Any]


def report_outcome(attempt: Attempt, outcome: str) -> None:
    """Note an attempt's outcome, to be taught once the caller's transaction commits.

    Never commits, never raises: losing one outcome costs the router one data point.
    """
    if outcome not in TAUGHT_OUTCOMES:
        return
    if outcome == "error" and attempt.error_code in NOT_THE_PROVIDERS_FAULT:
        return
    try:
        context = session_context(attempt.session)
    except Exception:  # never fail the payment over a statistic
        log.exception("routing: cannot read the session of attempt %s", attempt.id)
        return
    pending = db.session.info.setdefault(_PENDING, [])
    pending.append(Outcome(attempt.id, attempt.provider, outcome, context))


def teach(outcome: Outcome) -> bool:
    """Record one outcome in the shared store, once per attempt; False when it was not."""
    router = get_router()
    store = router.store
    try:
        if isinstance(store, PausingStore) and not store.mark_taught(
            outcome.attempt_id, outcome.outcome
        ):
            return False
        router.record(outcome.context, outcome.provider, outcome.outcome, now=routing_now())
    except StoreUnavailable as exc:
        log.warning("routing: outcome of %s not recorded: %s", outcome.attempt_id, exc)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _teach_committed_outcomes(session: Session) -> None:
    outcomes = session.info.pop(_PENDING, None)
    for outcome in outcomes or ():
        try:
            teach(outcome)
        except Exception:  # after a commit nothing may raise into the caller
            log.exception("routing: teaching the outcome of %s failed", outcome.attempt_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_outcomes(session: Session) -> None:
    session.info.pop(_PENDING, None)
