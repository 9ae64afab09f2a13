"""Customers who try again after a decline: how many declined sessions a retry recovers when
it passes over the provider that declined (kadosei, docs/api.md §5) against a retry that always
returns to the same provider — the same sessions, the same random draws, in the same run.

    .venv/bin/python -m bench.routing.retries [--sessions 5000] [--seeds 33,34,35] [--docs docs]

The world is a routing scenario (bench/routing/scenarios.py): per segment an issuer approval,
per provider an API error rate and a completion rate. An attempt at a provider

1. errors with the provider's error rate: the checkout fails over at once to the next provider
   (as in the service; the customer sees no decline);
2. is declined by the issuer when the session's card is not approved (``approval``): an
   *issuer-side* decline (insufficient funds, a stolen card) that follows the card to any
   provider — a customer who retries may take another card (``new_card``);
3. otherwise succeeds with the provider's completion rate, else the provider declines: a
   *provider-side* decline (its risk rules, its acquirer, a processing error). Back at the same
   provider in the same session, its decline repeats with probability ``stickiness`` (else
   the attempt is drawn afresh); another provider draws afresh.

A declined customer tries again with probability ``retry`` while attempts are left (3, the
default ``max_attempts``). The first attempt of a session goes where kadosei's router ranks
first; a retry goes where the strategy says: ``pass_over`` ranks again without the providers
that declined provider-side in this session (all of them if none would be left), issuer-side
declines excluding nobody; ``same_provider`` returns to the provider of the last attempt.
Each strategy has its own router, learning from every attempt (outcomes taught at once).
``stickiness`` is an assumption, not a measurement: the report gives two values.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.routing.scenarios import Scenario, build  # noqa: E402
from bench.routing.simulate import _candidates, _traffic  # noqa: E402
from kadosei.routing.policy import Router  # noqa: E402

STRATEGIES = ("pass_over", "same_provider")
MAX_ATTEMPTS = 3
SCENARIOS = ("stable", "outage", "step_change", "random")
MARKER = "<!-- retries: written by bench/routing/retries.py -->"


@dataclass(frozen=True)
class Customers:
    """How declines behave and what declined customers do (assumptions, stated in the report)."""

    retry: float = 0.6  # a declined customer tries again
    new_card: float = 0.3  # after an issuer decline, the retry is with another card
    stickiness: float = 0.8  # a provider-side decline repeats at the same provider


def _draws(sc: Scenario, seed: int) -> list[list[tuple[float, ...]]]:
    """Per session, per attempt: (error, completion, stickiness, retry, new card, new card's
    approval) draws, shared by both strategies (common random numbers)."""
    rng = random.Random(f"retries:{sc.name}:{seed}")
    return [
        [tuple(rng.random() for _ in range(6)) for _ in range(MAX_ATTEMPTS)]
        for _ in range(sc.transactions)
    ]


@dataclass
class _Session:
    """One customer's session as it goes: the card, and what each provider did so far."""

    seg: int
    ctx: dict
    card_ok: bool
    declined_at: set[str]  # providers that declined provider-side
    passed: set[str]  # providers a pass-over retry leaves out (declined provider-side, errored)
    last: str | None = None


def run(sc: Scenario, strategy: str, seed: int, customers: Customers) -> dict[str, Any]:
    """Every session of the scenario with one retry strategy; its recovery measures."""
    router = Router(seed=seed)
    world = _World(sc, router, customers)
    contexts = [
        {"payment_method": m, "currency": c, "country": co, "mode": "live"}
        for m, c, co in sc.segments
    ]
    tally = dict.fromkeys(("sessions", "paid", "declined", "recovered", "attempts"), 0)
    tally |= {
        f"{side}_{k}": 0 for side in ("issuer", "provider") for k in ("declined", "recovered")
    }
    traffic = zip(_traffic(sc), _draws(sc, seed), strict=True)
    for i, ((seg, amount, _, _, u_card), draws) in enumerate(traffic):
        now = i / sc.tps
        session = _Session(
            seg, {**contexts[seg], "amount": amount}, u_card < sc.approval[seg], set(), set()
        )
        first_side: str | None = None
        for k, (u_err, u_ok, u_stick, u_retry, u_new, u_new_ok) in enumerate(draws):
            tally["attempts"] += 1
            order = world.order(session, strategy, now)
            provider, side = world.attempt(session, order, i, k, (u_err, u_ok, u_stick), now)
            if side is None:
                tally["paid"] += 1
                if first_side is not None:
                    tally["recovered"] += 1
                    tally[f"{first_side}_recovered"] += 1
                break
            if k == 0:
                first_side = side
                tally["declined"] += 1
                tally[f"{side}_declined"] += 1
            session.last = provider
            if side == "provider":
                session.declined_at.add(provider)
                session.passed.add(provider)
            elif u_new < customers.new_card:
                session.card_ok = u_new_ok < sc.approval[seg]
            if u_retry >= customers.retry:
                break  # the customer gives up
        tally["sessions"] += 1
    return _measures(tally)


class _World:
    """The scenario's providers as attempts meet them, and the strategy's router."""

    def __init__(self, sc: Scenario, router: Router, customers: Customers) -> None:
        self.sc = sc
        self.router = router
        self.customers = customers
        self.candidates = _candidates(sc)
        self.providers = {p.name: p for p in sc.providers}

    def order(self, session: _Session, strategy: str, now: float) -> list[str]:
        """Where this attempt goes, in failover order."""
        ranked = list(self.router.rank(session.ctx, self.candidates, now))
        if session.last is None:
            return ranked
        if strategy == "same_provider":
            return [session.last] + [n for n in ranked if n != session.last]
        kept = [c for c in self.candidates if c["provider"] not in session.passed]
        return list(self.router.rank(session.ctx, kept, now)) if kept else ranked

    def attempt(
        self, session: _Session, order: list[str], i: int, k: int, draws: tuple, now: float
    ) -> tuple[str, str | None]:
        """One attempt, failing over past API errors: (provider, decline side or None)."""
        u_err, u_ok, u_stick = draws
        fallback = random.Random(f"failover:{i}:{k}")
        provider = order[0]
        for position, provider in enumerate(order):
            error_draw = u_err if position == 0 else fallback.random()
            if error_draw >= self.sc.error_at(self.providers[provider], session.seg, i):
                break
            self.router.record(session.ctx, provider, "error", now)
            session.passed.add(provider)
        if not session.card_ok:
            side = "issuer"
        elif provider in session.declined_at and u_stick < self.customers.stickiness:
            side = "provider"
        elif u_ok < self.sc.completion_at(provider, session.seg, i):
            side = None
        else:
            side = "provider"
        self.router.record(session.ctx, provider, "failed" if side else "succeeded", now)
        return provider, side


def _measures(t: dict[str, int]) -> dict[str, Any]:
    def share(part: int, whole: int) -> float | None:
        return 100 * part / whole if whole else None

    return {
        **t,
        "success_rate": share(t["paid"], t["sessions"]),
        "recovered_share": share(t["recovered"], t["declined"]),
        "issuer_recovered_share": share(t["issuer_recovered"], t["issuer_declined"]),
        "provider_recovered_share": share(t["provider_recovered"], t["provider_declined"]),
        "provider_declined_share": share(t["provider_declined"], t["declined"]),
    }


def compare(scenario: str, seed: int, sessions: int, customers: Customers) -> dict[str, dict]:
    """Both strategies on one world: the same sessions and draws."""
    return {s: run(build(scenario, seed, sessions), s, seed, customers) for s in STRATEGIES}


def report(sessions: int, seeds: list[int], stickiness: list[float]) -> str:
    """A markdown section: per scenario and stickiness, the means over seeds."""
    started = time.perf_counter()
    rows = []
    for scenario in SCENARIOS:
        world_seeds = [101, 102, 103, 104][: len(seeds)] if scenario == "random" else seeds
        for stick in stickiness:
            runs = [
                compare(scenario, s, sessions, Customers(stickiness=stick)) for s in world_seeds
            ]
            rows.append((scenario, stick, runs))
    elapsed = time.perf_counter() - started
    c = Customers()
    out = [
        MARKER,
        "## Retries after a decline",
        "",
        f"Generated by `bench/routing/retries.py`: {sessions} sessions per run, seeds "
        f"{', '.join(map(str, seeds))} (random worlds 101–{100 + len(seeds)}), "
        f"{MAX_ATTEMPTS} attempts at most; a declined customer retries with probability "
        f"{c.retry}, after an issuer decline with another card with probability {c.new_card}. "
        "`stickiness` (how often a provider-side decline repeats at the same provider) is an "
        "assumption, shown at two values. *Recovered* = sessions whose first attempt was "
        "declined and that were paid on a retry, as a share of those declined; both strategies "
        "see the same sessions and draws in the same run, each with a router of its own. "
        f"Means over seeds; {elapsed:.0f} s for the whole table.",
        "",
        "| scenario | stickiness | provider-side share of declines | recovered, pass over % "
        "| recovered, same provider % | provider-side recovered, pass over % "
        "| provider-side recovered, same provider % | issuer-side recovered, pass over / same % "
        "| session SR pass over / same % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, stick, runs in rows:
        out.append(_row(scenario, stick, runs))
    return "\n".join(out) + "\n"


def _row(scenario: str, stick: float, runs: list[dict[str, dict]]) -> str:
    def mean(strategy: str, key: str) -> float:
        values = [r[strategy][key] for r in runs if r[strategy][key] is not None]
        return statistics.fmean(values) if values else float("nan")

    issuer = (mean("pass_over", "issuer_recovered_share"),
              mean("same_provider", "issuer_recovered_share"))  # fmt: skip
    return (
        f"| {scenario} | {stick} | {mean('pass_over', 'provider_declined_share'):.1f} % "
        f"| {mean('pass_over', 'recovered_share'):.1f} "
        f"| {mean('same_provider', 'recovered_share'):.1f} "
        f"| {mean('pass_over', 'provider_recovered_share'):.1f} "
        f"| {mean('same_provider', 'provider_recovered_share'):.1f} "
        f"| {issuer[0]:.1f} / {issuer[1]:.1f} "
        f"| {mean('pass_over', 'success_rate'):.2f} / {mean('same_provider', 'success_rate'):.2f} |"
    )


def write_section(docs: Path, section: str) -> None:
    """Put the section at the end of docs/routing-results.md, replacing an earlier one."""
    path = docs / "routing-results.md"
    text = path.read_text() if path.exists() else "# Routing benchmark results\n\n"
    text = text.split(MARKER)[0].rstrip("\n") + "\n\n"
    path.write_text(text + section)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--seeds", default="33,34,35")
    ap.add_argument("--stickiness", default="0.5,0.8")
    ap.add_argument("--docs", help="folder of routing-results.md to update")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    stickiness = [float(s) for s in args.stickiness.split(",")]
    section = report(args.sessions, seeds, stickiness)
    print(section)
    if args.docs:
        write_section(Path(args.docs), section)


if __name__ == "__main__":
    main()
