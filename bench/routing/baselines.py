"""Baseline routing policies kadosei is measured against, with the same rank/record seam.

Each keys its statistics by payment method × currency (the spec's segment) and treats an
"error" as a failure, as the published schemes do.  ``Ranking.reason`` says "explore" when
the pick came from the scheme's exploration rule.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from kadosei.routing.explanation import Ranking
from kadosei.routing.policy import candidate_fee

Candidates = Sequence[Mapping[str, Any]]


def _segment(context: Mapping[str, Any]) -> str:
    """Payment method × currency."""
    return f"{context.get('payment_method')}|{context.get('currency')}"


def _ranking(names: list[str], explored: bool) -> Ranking:
    """A Ranking without an explanation (baselines do not explain themselves)."""
    return Ranking(names, "explore" if explored else "exploit", dict)


def _net_amounts(context: Mapping[str, Any], candidates: Candidates) -> dict[str, float]:
    """Amount minus fee per provider; an unknown fee counts as the dearest known one."""
    amount = context.get("amount") or 0
    fees = {c["provider"]: candidate_fee(c, amount) for c in candidates}
    known = [f for f in fees.values() if f is not None]
    worst = max(known) if known else 0.0
    return {name: amount - (worst if f is None else f) for name, f in fees.items()}


class StaticCheapest:
    """Always the cheapest known fee first (unknown fees last), then by name."""

    def rank(self, context: Mapping[str, Any], candidates: Candidates, now: float = 0.0):
        """Cheapest first."""
        amount = context.get("amount") or 0
        scored = [(candidate_fee(c, amount), c["provider"]) for c in candidates]
        scored.sort(key=lambda s: (s[0] is None, s[0] or 0.0, s[1]))
        return _ranking([name for _, name in scored], False)

    def record(self, context: Mapping[str, Any], provider: str, outcome: str, now: float = 0.0):
        """Learns nothing."""


class RoundRobin:
    """Rotates through the candidates per segment."""

    def __init__(self) -> None:
        self._turn: dict[str, int] = {}

    def rank(self, context: Mapping[str, Any], candidates: Candidates, now: float = 0.0):
        """The next provider in turn first."""
        key = _segment(context)
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        names = sorted(c["provider"] for c in candidates)
        k = turn % len(names)
        return _ranking(names[k:] + names[:k], False)

    def record(self, context: Mapping[str, Any], provider: str, outcome: str, now: float = 0.0):
        """Learns nothing."""


class SRv3:
    """Juspay decision-engine SR v3: optimistic window of B outcomes, hedging, 3σ reset,
    elimination score (×0.95 per failure) and the EV cost step."""

    def __init__(self, seed: int | None = None, bucket: int = 125, hedging: float = 0.05) -> None:
        self.bucket, self.hedging = bucket, hedging
        self.threshold, self.soft_reset_n = 0.05, 10
        self._rng = random.Random(seed)
        self._windows: dict[tuple[str, str], deque[int]] = {}
        self._sums: dict[tuple[str, str], int] = {}
        self._elimination: dict[str, float] = {}

    def _score(self, key: tuple[str, str]) -> float:
        """Success rate of the window (optimistic 1.0 until it has outcomes)."""
        if key not in self._windows:
            self._windows[key] = deque([1] * self.bucket, maxlen=self.bucket)
            self._sums[key] = self.bucket
        return self._sums[key] / self.bucket

    def rank(self, context: Mapping[str, Any], candidates: Candidates, now: float = 0.0):
        """Argmax of EV on window scores; with probability h a uniform pick instead."""
        seg = _segment(context)
        names = [c["provider"] for c in candidates]
        scores = {n: self._score((seg, n)) for n in names}
        self._reset_laggards(seg, scores)
        down = {n for n in names if self._elimination.get(n, 1.0) < self.threshold}
        if self._rng.random() < self.hedging:
            order = names[:]
            self._rng.shuffle(order)
            return _ranking(order, True)
        net = _net_amounts(context, candidates)
        order = sorted(names, key=lambda n: (n in down, -scores[n] * net[n], -scores[n], n))
        return _ranking(order, False)

    def _reset_laggards(self, seg: str, scores: dict[str, float]) -> None:
        """The 3σ reset: a gateway far below the leader gets its window rewritten to max−3σ."""
        best = max(scores.values())
        sigma = math.sqrt(max(best * (1.0 - best), 0.09) / self.bucket)
        floor = best - 3.0 * sigma
        for name, score in scores.items():
            if score < floor:
                ones = max(0, min(self.bucket, round(floor * self.bucket)))
                pattern = [0] * (self.bucket - ones) + [1] * ones
                self._windows[(seg, name)] = deque(pattern, maxlen=self.bucket)
                self._sums[(seg, name)] = ones
                scores[name] = ones / self.bucket

    def record(self, context: Mapping[str, Any], provider: str, outcome: str, now: float = 0.0):
        """Push the outcome into the window and move the elimination score."""
        key = (_segment(context), provider)
        self._score(key)
        window = self._windows[key]
        x = 1 if outcome == "succeeded" else 0
        self._sums[key] += x - window[0]
        window.append(x)
        score = self._elimination.get(provider, 1.0)
        if x:
            if score < self.threshold:  # half-open: a success re-admits it N failures above
                score = self.threshold / 0.95 ** (self.soft_reset_n - 1)
            score = min(1.0, score * 1.0526)
        else:
            score *= 0.95
        self._elimination[provider] = score


class HyperswitchSR:
    """Hyperswitch success-based routing: buckets of 5, up to 8 kept, linear recency weights,
    default 100% until 5 buckets exist, 20% exploration."""

    def __init__(
        self,
        seed: int | None = None,
        block: int = 5,
        max_aggregates: int = 8,
        min_aggregates: int = 5,
        exploration: float = 0.2,
    ) -> None:
        self.block, self.max_aggregates, self.min_aggregates = block, max_aggregates, min_aggregates
        self.exploration = exploration
        self._rng = random.Random(seed)
        self._buckets: dict[tuple[str, str], deque[tuple[int, int]]] = {}
        self._current: dict[tuple[str, str], list[int]] = {}

    def _rate(self, key: tuple[str, str]) -> float:
        """Σ rate_i · (i+1) / Σ(i+1) over buckets oldest → newest; 1.0 below min_aggregates."""
        buckets = self._buckets.get(key)
        if not buckets or len(buckets) < self.min_aggregates:
            return 1.0
        total_weight = len(buckets) * (len(buckets) + 1) / 2
        return sum((s / t) * (i + 1) for i, (s, t) in enumerate(buckets)) / total_weight

    def rank(self, context: Mapping[str, Any], candidates: Candidates, now: float = 0.0):
        """Highest success rate first; with probability 20% a uniform pick."""
        names = [c["provider"] for c in candidates]
        if self._rng.random() < self.exploration:
            order = names[:]
            self._rng.shuffle(order)
            return _ranking(order, True)
        seg = _segment(context)
        rates = {n: self._rate((seg, n)) for n in names}
        return _ranking(sorted(names, key=lambda n: (-rates[n], n)), False)

    def record(self, context: Mapping[str, Any], provider: str, outcome: str, now: float = 0.0):
        """Fill the current bucket; a full bucket joins the FIFO of aggregates."""
        key = (_segment(context), provider)
        current = self._current.setdefault(key, [0, 0])
        current[0] += outcome == "succeeded"
        current[1] += 1
        if current[1] >= self.block:
            buckets = self._buckets.setdefault(key, deque(maxlen=self.max_aggregates))
            buckets.append((current[0], current[1]))
            self._current[key] = [0, 0]


class DiscountedThompson:
    """Discounted Thompson sampling on Beta(1, 1) posteriors per segment, maximising EV."""

    def __init__(self, seed: int | None = None, gamma: float = 0.995) -> None:
        self.gamma = gamma
        self._rng = random.Random(seed)
        self._clock: dict[str, int] = {}
        self._arms: dict[tuple[str, str], list[float]] = {}

    def _posterior(self, seg: str, name: str) -> tuple[float, float]:
        """Discounted (successes, failures) of an arm at the segment's clock."""
        arm = self._arms.get((seg, name))
        if arm is None:
            return 0.0, 0.0
        d = self.gamma ** (self._clock.get(seg, 0) - arm[2])
        return arm[0] * d, arm[1] * d

    def rank(self, context: Mapping[str, Any], candidates: Candidates, now: float = 0.0):
        """Order by EV of a Beta draw per arm."""
        seg = _segment(context)
        net = _net_amounts(context, candidates)
        drawn, mean = {}, {}
        for c in candidates:
            name = c["provider"]
            s, f = self._posterior(seg, name)
            drawn[name] = self._rng.betavariate(s + 1.0, f + 1.0) * net[name]
            mean[name] = (s + 1.0) / (s + f + 2.0) * net[name]
        order = sorted(drawn, key=lambda n: (-drawn[n], n))
        greedy = max(mean, key=lambda n: mean[n])
        return _ranking(order, order[0] != greedy)

    def record(self, context: Mapping[str, Any], provider: str, outcome: str, now: float = 0.0):
        """Discount every arm in the segment by γ and count the outcome."""
        seg = _segment(context)
        clock = self._clock.get(seg, 0) + 1
        self._clock[seg] = clock
        s, f = self._posterior(seg, provider)
        win = outcome == "succeeded"
        self._arms[(seg, provider)] = [s * self.gamma + win, f * self.gamma + (not win), clock]


BASELINES = {
    "static_cheapest": lambda seed: StaticCheapest(),
    "round_robin": lambda seed: RoundRobin(),
    "srv3": lambda seed: SRv3(seed=seed),
    "hyperswitch": lambda seed: HyperswitchSR(seed=seed),
    "dts": lambda seed: DiscountedThompson(seed=seed),
}
