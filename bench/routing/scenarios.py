"""Simulated worlds for the routing benchmark: providers, segments, true rates and events.

True success of an attempt = (1 − provider's API error rate) × the segment's issuer approval
× the provider's completion rate in that segment.  Completion drifts slowly (sinusoids), steps
up or down on events, and outages raise the error rate (API errors and timeouts).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

METHODS = ["card", "wallet", "bank_transfer", "bnpl"]
CURRENCIES = ["EUR", "USD", "GBP", "SEK", "PLN", "CHF", "JPY", "DKK"]
COUNTRIES = ["DE", "FR", "NL", "US", "GB", "SE", "PL", "ES"]
NAMES = ["adyen", "stripe", "worldline", "checkout", "mollie", "nuvei"]


@dataclass
class Provider:
    name: str
    fee_percent: float
    fee_fixed: int
    fee_known: bool = True
    error_rate: float = 0.002


@dataclass
class Event:
    kind: str  # "outage" (error rate) or "step" (completion change)
    provider: str
    start: int  # transaction index
    end: int | None  # None: permanent
    value: float  # outage error rate, or completion delta
    segments: frozenset[int] | None = None  # None: every segment


@dataclass
class Scenario:
    name: str
    seed: int
    transactions: int
    providers: list[Provider]
    segments: list[tuple[str, str, str | None]]
    weights: list[float]
    approval: list[float]  # issuer approval per segment
    completion: dict[str, list[float]]  # provider → completion per segment
    drift: float = 0.0  # amplitude of the slow completion drift
    drift_period: int = 20000
    phase: dict[str, list[float]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    delay: int = 5  # mean transactions before a success/decline is reported
    tps: float = 5.0

    def completion_at(self, provider: str, seg: int, i: int) -> float:
        """The provider's true completion rate in a segment at transaction i."""
        r = self.completion[provider][seg]
        if self.drift:
            r += self.drift * math.sin(
                2 * math.pi * i / self.drift_period + self.phase[provider][seg]
            )
        for ev in self.events:
            hit = ev.kind == "step" and ev.provider == provider and i >= ev.start
            if hit and (ev.segments is None or seg in ev.segments):
                r += ev.value
        return min(max(r, 0.0), 1.0)

    def error_at(self, provider: Provider, seg: int, i: int) -> float:
        """The provider's API error rate in a segment at transaction i."""
        rate = provider.error_rate
        for ev in self.events:
            hit = ev.kind == "outage" and ev.provider == provider.name and ev.start <= i < ev.end
            if hit and (ev.segments is None or seg in ev.segments):
                rate = max(rate, ev.value)
        return rate


def _zipf(n: int, s: float) -> list[float]:
    """Zipf traffic weights."""
    w = [1.0 / (k + 1) ** s for k in range(n)]
    total = sum(w)
    return [x / total for x in w]


def _world(rng: random.Random, name: str, seed: int, n: int, k: int, segs: list, **kw) -> Scenario:
    """Providers with fees and per-segment completion, segments with approval and traffic."""
    fee_table = [(2.9, 30), (1.4, 25), (1.8, 20), (3.2, 30), (2.2, 15), (1.2, 35)]
    providers = [
        Provider(NAMES[j], *fee_table[j % len(fee_table)], error_rate=rng.uniform(0.001, 0.004))
        for j in range(k)
    ]
    approval = [rng.uniform(0.80, 0.95) for _ in segs]
    # A provider's completion = its overall quality + its skill with the method + a little
    # per-segment (acquirer, currency) noise: 1–5 pp between providers in a segment.
    quality = {p.name: rng.uniform(0.96, 0.985) for p in providers}
    skill = {(p.name, m): rng.uniform(-0.015, 0.015) for p in providers for m in METHODS}
    completion = {
        p.name: [
            min(0.998, quality[p.name] + skill[(p.name, s[0])] + rng.uniform(-0.008, 0.008))
            for s in segs
        ]
        for p in providers
    }
    phase = {p.name: [rng.uniform(0, 2 * math.pi) for _ in segs] for p in providers}
    order = list(range(len(segs)))
    rng.shuffle(order)
    zipf = _zipf(len(segs), kw.pop("zipf", 1.1))
    weights = [zipf[order[i]] for i in range(len(segs))]
    return Scenario(
        name, seed, n, providers, segs, weights, approval, completion, phase=phase, **kw
    )


def _segments(methods: int, currencies: int, countries: int) -> list:
    """The cross product of the first methods × currencies × countries."""
    return [
        (m, c, (co if countries else None))
        for m in METHODS[:methods]
        for c in CURRENCIES[:currencies]
        for co in (COUNTRIES[:countries] if countries else [None])
    ]


def leader(sc: Scenario, i: int) -> str:
    """The provider the oracle would send the most traffic to at transaction i."""
    share: dict[str, float] = {}
    for seg, w in enumerate(sc.weights):
        best = max(
            sc.providers,
            key=lambda p: (
                (1 - sc.error_at(p, seg, i))
                * sc.completion_at(p.name, seg, i)
                * (4500 - p.fee_percent / 100 * 4500 - p.fee_fixed)
            ),
        )
        share[best.name] = share.get(best.name, 0.0) + w
    return max(share, key=lambda name: share[name])


def build(name: str, seed: int, transactions: int = 20000) -> Scenario:
    """A named scenario (or "random") for a seed."""
    builder = SCENARIOS.get(name)
    if builder is None:
        raise ValueError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}")
    return builder(random.Random(f"{name}:{seed}"), seed, transactions)


def _stable(rng: random.Random, seed: int, n: int) -> Scenario:
    return _world(rng, "stable", seed, n, 3, _segments(2, 4, 0))


def _drift(rng: random.Random, seed: int, n: int) -> Scenario:
    return _world(rng, "drift", seed, n, 3, _segments(2, 4, 0), drift=0.03, drift_period=n // 2)


def _outage(rng: random.Random, seed: int, n: int) -> Scenario:
    sc = _world(rng, "outage", seed, n, 3, _segments(2, 4, 0))
    first = leader(sc, int(0.3 * n))
    sc.events.append(Event("outage", first, int(0.3 * n), int(0.45 * n), 0.98))
    second = leader(sc, int(0.7 * n))
    sc.events.append(Event("outage", second, int(0.7 * n), int(0.8 * n), 0.6))
    return sc


def _step_change(rng: random.Random, seed: int, n: int) -> Scenario:
    sc = _world(rng, "step_change", seed, n, 3, _segments(2, 4, 0))
    first = leader(sc, int(0.3 * n))
    sc.events.append(Event("step", first, int(0.3 * n), None, -0.12))
    worst = min(sc.providers, key=lambda p: sum(sc.completion[p.name])).name
    sc.events.append(Event("step", worst, int(0.6 * n), None, 0.05))
    return sc


def _sparse(rng: random.Random, seed: int, n: int) -> Scenario:
    return _world(rng, "sparse", seed, n, 4, _segments(4, 6, 6), drift=0.01, drift_period=n)


def _fee_tradeoff(rng: random.Random, seed: int, n: int) -> Scenario:
    sc = _world(rng, "fee_tradeoff", seed, n, 4, _segments(2, 3, 0))
    cheap, dear, unknown, mid = sc.providers
    cheap.fee_percent, cheap.fee_fixed = 0.9, 10
    dear.fee_percent, dear.fee_fixed = 3.4, 35
    unknown.fee_known = False  # true fee 1.8% + 20, hidden from the policies
    mid.fee_percent, mid.fee_fixed = 2.0, 25
    for seg in range(len(sc.segments)):
        top = max(sc.completion[p.name][seg] for p in sc.providers)
        sc.completion[cheap.name][seg] = top - rng.uniform(0.0, 0.05)
        sc.completion[dear.name][seg] = min(0.998, top + rng.uniform(0.0, 0.02))
    return sc


def _random(rng: random.Random, seed: int, n: int) -> Scenario:
    """An unseen world: random size, drift, delays, outages and step changes."""
    segs = _segments(rng.randint(1, 4), rng.randint(1, 6), rng.choice([0, 0, 3, 6]))
    sc = _world(
        rng,
        "random",
        seed,
        n,
        rng.randint(2, 5),
        segs,
        drift=rng.choice([0.0, 0.01, 0.03]),
        drift_period=rng.randint(n // 4, 2 * n),
        delay=rng.choice([0, 5, 10, 20]),
        zipf=rng.uniform(0.8, 1.4),
    )
    sc.providers[rng.randrange(len(sc.providers))].fee_known = rng.random() < 0.7
    heaviest = frozenset([max(range(len(segs)), key=lambda s: sc.weights[s])])
    for _ in range(rng.randint(1, 3)):
        start = rng.randint(n // 10, int(0.8 * n))
        end = min(n, start + rng.randint(n // 40, n // 6))
        scope = heaviest if rng.random() < 0.2 else None
        value = 0.98 if rng.random() < 0.6 else rng.uniform(0.4, 0.8)
        sc.events.append(Event("outage", leader(sc, start), start, end, value, scope))
    for _ in range(rng.randint(0, 2)):
        who = rng.choice(sc.providers).name
        sc.events.append(Event("step", who, rng.randint(0, n), None, rng.uniform(-0.12, 0.06)))
    return sc


SCENARIOS = {
    "stable": _stable,
    "drift": _drift,
    "outage": _outage,
    "step_change": _step_change,
    "sparse": _sparse,
    "fee_tradeoff": _fee_tradeoff,
    "random": _random,
}
