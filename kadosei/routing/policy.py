"""kadosei's routing policy: rank eligible providers by expected value, learn from outcomes.

P(success) = availability × success-when-answered.  Success-when-answered is a segment base
rate (all providers, backed off method×currency → method → overall) times the provider's lift
over that base (backed off the same way), from discounted counts whose slow memory restarts
when a fast window clearly disagrees.  Availability is a fast, time-decayed rate of API errors.
Below the method level a segment earns its own estimate only with ~1000 records.  Ranking is
Thompson-style: each rate is drawn from its posterior, so exploration stops once the evidence
separates the candidates; the fee-best provider keeps the payment until a dearer one is ahead
by more than the doubt in the two estimates (the hold), so noise does not move traffic.  A
circuit breaker per provider puts a provider that keeps erroring last, sends it a single probe
after a cool-down, and closing it forgets the outage's errors in every segment.

Why each piece is there, and what it costs: docs/routing.md ("The estimate", "Exploration",
"The hold", "Circuit breaker").
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kadosei.routing.explanation import Ranking, fallback_ranking
from kadosei.routing.stats import (
    ALL,
    AV_AT,
    AV_ERR,
    AV_OK,
    BREAKER_NAMES,
    CLOCK,
    CLOSED,
    CLOSED_AT,
    ERROR,
    OUTCOMES,
    STATE,
    Params,
    probe_due,
)
from kadosei.routing.store import MemoryStore, Store, StoreUnavailable

log = logging.getLogger(__name__)

Levels = list[tuple[float, dict[str, list[float]]]]


def candidate_fee(candidate: Mapping[str, Any], amount: int) -> float | None:
    """The provider's fee on this amount in minor units, or None when its fees are unknown."""
    pct, fixed = candidate.get("fee_percent"), candidate.get("fee_fixed")
    if pct is None and fixed is None:
        return None
    return (pct or 0.0) / 100.0 * amount + (fixed or 0)


class Router:
    """Ranks providers best first for a payment and learns from every outcome."""

    version = "kadosei-ev-ts-2"  # 2: pooling below the method level, the hold, close stamp

    def __init__(
        self, seed: int | None = None, store: Store | None = None, params: Params | None = None
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.params = params or Params()
        self._rng = random.Random(seed)
        self._keys_cache: dict[tuple, tuple[list[str], str]] = {}

    def segment_keys(self, context: Mapping[str, Any]) -> tuple[list[str], str]:
        """The store keys of the context's segments (coarse to fine) and its breaker key."""
        ident = (
            context.get("mode", "live"),
            context.get("payment_method", ""),
            context.get("currency", ""),
            context.get("country"),
        )
        cached = self._keys_cache.get(ident)
        if cached is None:
            mode, method, currency, country = ident
            keys = [f"{mode}|g", f"{mode}|m|{method}", f"{mode}|mc|{method}|{currency}"]
            if country:
                keys.append(f"{mode}|mcc|{method}|{currency}|{country}")
            cached = self._keys_cache[ident] = (keys, f"{mode}|breakers")
        return cached

    def rank(
        self,
        context: Mapping[str, Any],
        candidates: Sequence[Mapping[str, Any]],
        now: float | None = None,
    ) -> Ranking:
        """Provider names best first (open breakers last), carrying the decision's explanation."""
        now = time.time() if now is None else now
        names = [c["provider"] for c in candidates]
        keys, breaker_key = self.segment_keys(context)
        try:
            levels, breakers = self.store.read(keys, breaker_key, names)
            probe = self._probe(breaker_key, breakers, names, now)
        except StoreUnavailable as exc:
            log.warning("routing store unavailable, using the default order: %s", exc)
            return fallback_ranking(context, candidates, candidate_fee)
        return self._decide(context, candidates, levels, breakers, probe, now)

    def record(
        self, context: Mapping[str, Any], provider: str, outcome: str, now: float | None = None
    ) -> None:
        """Learn from one attempt's outcome ("succeeded", "failed" or "error").

        Raises StoreUnavailable when the shared store is down; the caller logs and carries on.
        """
        x = OUTCOMES.get(outcome)
        if x is None:
            raise ValueError(f"unknown routing outcome {outcome!r}")
        now = time.time() if now is None else now
        keys, breaker_key = self.segment_keys(context)
        expected = 0.0
        if x != ERROR:
            levels, _ = self.store.read(keys, breaker_key, ())
            expected = self._base_rate(levels)
        self.store.record(keys, breaker_key, provider, x, expected, now, self.params)

    def provider_status(
        self, context: Mapping[str, Any], providers: Sequence[str], now: float | None = None
    ) -> dict[str, dict[str, Any]]:
        """Current estimates and breaker state per provider in a segment (for the portal)."""
        candidates = [{"provider": p, "fee_percent": None, "fee_fixed": None} for p in providers]
        now = time.time() if now is None else now
        keys, breaker_key = self.segment_keys(context)
        levels, breakers = self.store.read(keys, breaker_key, providers)
        base = self._base_rate(levels)
        out = {}
        for c in candidates:
            breaker = breakers.get(c["provider"])
            p, a, evidence = self._estimate(levels, base, c["provider"], now, breaker)[:3]
            state = breaker[STATE] if breaker is not None else CLOSED
            out[c["provider"]] = {
                "success_rate": round(p * a, 4),
                "success_when_answered": round(p, 4),
                "availability": round(a, 4),
                "evidence": round(evidence, 1),
                "breaker": BREAKER_NAMES[int(state)],
            }
        return out

    def _probe(self, breaker_key: str, breakers: dict, names: list[str], now: float) -> str | None:
        """The provider that gets this decision as its half-open probe, if any."""
        for name in names:
            row = breakers.get(name)
            due = row is not None and row[STATE] != CLOSED and probe_due(row, now, self.params)
            if due and self.store.claim_probe(breaker_key, name, now, self.params):
                return name
        return None

    def _base_rate(self, levels: Levels) -> float:
        """Success rate of the finest segment over all providers, backed off to coarser ones."""
        gamma, k = self.params.slow_gamma, self.params.segment_prior
        q = 0.85
        weight = 2.0
        for clock, rows in levels:
            row = rows.get(ALL)
            if row is not None:
                lag = clock - row[CLOCK]
                d = gamma**lag if lag > 0 else 1.0
                q = (row[0] * d + weight * q) / (row[1] * d + weight)
            weight = k
        return q

    def _estimate(
        self,
        levels: Levels,
        base: float,
        provider: str,
        now: float,
        breaker: list[float] | None = None,
    ) -> tuple[float, float, float, float]:
        """(success-when-answered, availability, evidence, unobserved segment records).

        Coarse levels give a mix-adjusted lift (observed / expected successes) that, times the
        finest segment's base rate, is the prior for the provider's own finest-level counts.
        Availability counts from before the provider's ``breaker`` last closed are ignored.
        """
        prm = self.params
        closed_at = breaker[CLOSED_AT] if breaker is not None else 0.0
        gamma, k = prm.slow_gamma, prm.lift_prior
        half_life, av_prior = prm.availability_half_life, prm.availability_prior
        lift, evidence, lag, av = 1.0, 0.0, 0.0, 1.0
        s = n = 0.0
        for level, (clock, rows) in enumerate(levels):
            if level == 2:  # method × currency and finer
                k = prm.fine_lift_prior
            row = rows.get(provider)
            if row is None:
                evidence, lag, s, n = min(evidence, k), 0.0, 0.0, 0.0
                continue
            lag = clock - row[CLOCK]
            d = gamma**lag if lag > 0 else 1.0
            s, n = row[0] * d, row[1] * d
            prior_lift = lift
            lift = (s + k * lift) / (row[2] * d + k)
            evidence = n + min(evidence, k)
            age = now - row[AV_AT]
            t = 0.5 ** (age / half_life) if age > 0 else 1.0
            if closed_at > 0.0 and row[AV_AT] <= closed_at:
                t = 0.0
            av_ok, av_err = row[AV_OK] * t, row[AV_ERR] * t
            av = (av_ok + av_prior * av) / (av_ok + av_err + av_prior)
        if n > 0:
            p = (s + k * base * prior_lift) / (n + k)
        else:
            p = base * lift
        return min(max(p, 0.001), 0.999), av, evidence, max(lag, 0.0)

    def _decide(
        self,
        context: Mapping[str, Any],
        candidates: Sequence[Mapping[str, Any]],
        levels: Levels,
        breakers: dict,
        probe: str | None,
        now: float,
    ) -> Ranking:
        """Score every candidate, draw the exploration samples and order the names."""
        amount = context.get("amount") or 0
        fees = [candidate_fee(c, amount) for c in candidates]
        known = [f for f in fees if f is not None]
        worst_fee = max(known) if known else 0.0
        base = self._base_rate(levels)
        gauss, walk, temper = self._rng.gauss, self.params.walk, self.params.temper
        rows = []
        for c, fee in zip(candidates, fees, strict=True):
            name = c["provider"]
            breaker = breakers.get(name)
            p, a, evidence, lag = self._estimate(levels, base, name, now, breaker)
            var = p * (1.0 - p) / (evidence + 1.0) + walk * lag
            drawn = min(max(p + temper * math.sqrt(var) * gauss(), 0.0), 1.0)
            net = amount - (worst_fee if fee is None else fee)
            state = int(breaker[STATE]) if breaker is not None else CLOSED
            rows.append([name, p, a, evidence, fee, net, p * a * net, drawn * a * net, state, var])
        held = self._hold(rows)
        return Ranking.from_rows(
            context, [tuple(r[:9]) for r in rows], probe, worst_fee, self.version, held
        )

    def _hold(self, rows: list[list]) -> bool:
        """Keep the fee-best provider until a challenger is ahead by more than the doubt.

        The anchor is the candidate with the largest net amount (a known fee first): the one
        that wins when every estimate is equal.  A dearer challenger's drawn EV must beat it
        by ``hold_margin`` standard deviations of the two estimates' difference, so a streak
        in a provider's few records does not move traffic.  When the point estimates favour a
        challenger that has not cleared the margin yet, it still gets ``split_share`` of those
        payments: the doubt is settled by evidence instead of lasting.  True when the anchor
        was kept against the estimates (reason ``hold``).
        """
        prm = self.params
        active = [r for r in rows if r[8] == CLOSED]
        if not prm.hold_margin or len(active) < 2:
            return False
        anchor = max(active, key=lambda r: (r[5], r[4] is not None))
        for r in active:
            if r[5] < anchor[5]:
                r[7] -= prm.hold_margin * math.sqrt(r[9] + anchor[9]) * r[2] * r[5]
        top = max(active, key=lambda r: r[7])
        greedy = max(active, key=lambda r: r[6])
        if top is not anchor or greedy is anchor:
            return False
        if self._rng.random() < prm.split_share:
            greedy[7] = top[7] + 1.0
            return False
        return True
