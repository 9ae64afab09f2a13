"""Run routing policies on simulated traffic against an oracle.

    .venv/bin/python -m bench.routing.simulate --scenario outage --seed 1 \
        --transactions 20000 --out bench/out/

Every policy sees the same traffic and the same random draws (common random numbers), so the
differences are the policies'.  Successes and declines reach the policy ``delay`` transactions
later on average; API errors are known at once, as they are when the checkout is created.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.routing.baselines import BASELINES
from bench.routing.scenarios import SCENARIOS, Scenario, build
from bench.routing.svg import timeline_svg
from kadosei.routing.policy import Router

POLICIES: dict[str, Callable[[int], Any]] = {"kadosei": lambda seed: Router(seed=seed), **BASELINES}
BUCKET = 200  # transactions per timeline point


def _traffic(sc: Scenario) -> list[tuple[int, int, int, float, float]]:
    """Per transaction: segment, amount, feedback delay and two outcome draws."""
    rng = random.Random(f"traffic:{sc.name}:{sc.seed}")
    cum = []
    total = 0.0
    for w in sc.weights:
        total += w
        cum.append(total)
    out = []
    for _ in range(sc.transactions):
        seg = min(bisect.bisect_left(cum, rng.random() * total), len(cum) - 1)
        amount = int(rng.lognormvariate(math.log(4500), 1.0)) + 50
        delay = rng.randint(0, 2 * sc.delay)
        out.append((seg, amount, delay, rng.random(), rng.random()))
    return out


def _candidates(sc: Scenario) -> list[dict[str, Any]]:
    """What the policies are told about each provider (unknown fees as None)."""
    return [
        {
            "provider": p.name,
            "fee_percent": p.fee_percent if p.fee_known else None,
            "fee_fixed": p.fee_fixed if p.fee_known else None,
        }
        for p in sc.providers
    ]


def run(sc: Scenario, policy_name: str, seed: int) -> dict[str, Any]:
    """Simulate one policy through a scenario; return its measures and timeline."""
    policy = POLICIES[policy_name](seed)
    candidates = _candidates(sc)
    names = [p.name for p in sc.providers]
    contexts = [
        {"payment_method": m, "currency": c, "country": co, "mode": "live"}
        for m, c, co in sc.segments
    ]
    pending: list[tuple[int, int, int, str, str]] = []
    log = _Log(len(names))
    spent = 0.0
    for i, (seg, amount, delay, u_err, u_ok) in enumerate(_traffic(sc)):
        now = i / sc.tps
        while pending and pending[0][0] <= i:
            _, _, s, provider, outcome = heapq.heappop(pending)
            policy.record({**contexts[s], "amount": 0}, provider, outcome, now)
        ctx = {**contexts[seg], "amount": amount}
        t0 = time.perf_counter()
        ranked = policy.rank(ctx, candidates, now)
        spent += time.perf_counter() - t0
        chosen = names.index(ranked[0])
        truth = [_truth(sc, p, seg, i, amount) for p in sc.providers]
        err, p_ok, _ = truth[chosen]
        if u_err < err:
            outcome = "error"
            policy.record(ctx, ranked[0], outcome, now)
        else:
            outcome = "succeeded" if u_ok < p_ok else "failed"
            heapq.heappush(pending, (i + delay, i, seg, ranked[0], outcome))
        explored = getattr(ranked, "reason", "") in ("explore", "probe")
        log.add(seg, chosen, truth, amount, outcome == "succeeded", explored)
    return log.summary(sc, names, spent)


def _truth(sc: Scenario, provider: Any, seg: int, i: int, amount: int) -> tuple:
    """(error rate, P(success | answered), expected net value) of a provider right now."""
    err = sc.error_at(provider, seg, i)
    p_ok = sc.approval[seg] * sc.completion_at(provider.name, seg, i)
    fee = provider.fee_percent / 100 * amount + provider.fee_fixed
    return err, p_ok, (1 - err) * p_ok * (amount - fee)


class _Log:
    """Per-transaction record of what was chosen and what the oracle would have done."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.segs: list[int] = []
        self.chosen: list[int] = []
        self.best: list[int] = []
        self.success = 0
        self.explored = 0
        self.p_policy = self.p_oracle = 0.0
        self.ev_policy = self.ev_oracle = 0.0
        self.regret = 0.0
        self.points: list[list[float]] = []

    def add(self, seg: int, chosen: int, truth: list, amount: int, ok: bool, explored: bool):
        """Account one decision."""
        best = max(range(self.k), key=lambda j: truth[j][2])
        p_of = [(1 - t[0]) * t[1] for t in truth]
        ev_best = truth[best][2]
        self.segs.append(seg)
        self.chosen.append(chosen)
        self.best.append(best)
        self.success += ok
        self.explored += explored
        self.p_policy += p_of[chosen]
        self.p_oracle += p_of[best]
        self.ev_policy += truth[chosen][2]
        self.ev_oracle += ev_best
        net_best = ev_best / p_of[best] if p_of[best] > 0 else amount
        self.regret += (ev_best - truth[chosen][2]) / max(net_best, 1e-9)
        if len(self.segs) % BUCKET == 1:
            self.points.append([0.0, 0.0, 0.0] + [0.0] * self.k)
        pt = self.points[-1]
        pt[0] += 1
        pt[1] += p_of[chosen]
        pt[2] += p_of[best]
        pt[3 + chosen] += 1

    def summary(self, sc: Scenario, names: list[str], spent: float) -> dict[str, Any]:
        """The measures of one run."""
        n = len(self.segs)
        return {
            "success_rate": 100 * self.success / n,
            "expected_success": 100 * self.p_policy / n,
            "oracle_success": 100 * self.p_oracle / n,
            "revenue_vs_oracle": 100 * self.ev_policy / self.ev_oracle,
            "regret_pp": 100 * self.regret / n,
            "exploration": 100 * self.explored / n,
            "us_per_decision": 1e6 * spent / n,
            "outages": _outage_measures(sc, names, self.segs, self.chosen, self.best),
            "timeline": [
                [pt[1] / pt[0], pt[2] / pt[0]] + [c / pt[0] for c in pt[3:]] for pt in self.points
            ],
        }


def _outage_measures(
    sc: Scenario, names: list[str], segs: list, chosen: list, best: list
) -> list[dict]:
    """Per outage of a provider the oracle and this policy were using: transactions in scope
    until its share of the next 20 is < 10% (the whole outage if never), and, once moved away,
    transactions after the provider is healthy again until its share of the next 50 is back to
    half its share before (the rest of the run if never)."""
    out = []
    for ev in sc.events:
        if ev.kind != "outage":
            continue
        who = names.index(ev.provider)
        scope = [i for i, s in enumerate(segs) if ev.segments is None or s in ev.segments]
        window = [i for i in scope if ev.start - 600 <= i < ev.start][-300:]
        before = [chosen[i] == who for i in window]
        oracle_share = sum(best[i] == who for i in window) / max(len(window), 1)
        during = [chosen[i] == who for i in scope if ev.start <= i < ev.end]
        healthy = _healthy_from(sc, ev)
        after = [chosen[i] == who for i in scope if i >= healthy]
        pre_share = sum(before) / max(len(before), 1)
        if oracle_share < 0.3 or len(during) < 40:
            continue  # the provider was not carrying this traffic: nothing to react to
        if pre_share < 0.1:
            continue  # this policy was not using the provider: nothing to react to
        react = _first(during, 20, lambda share: share < 0.10)
        recover = None
        if react is not None and after:  # only a policy that moved away can come back
            target = 0.5 * pre_share
            recover = _first(after, 50, lambda share, target=target: share >= target)
            recover = recover if recover is not None else len(after)
        out.append(
            {
                "provider": ev.provider,
                "error_rate": ev.value,
                "pre_share": round(pre_share, 3),
                "reaction": react if react is not None else len(during),
                "reaction_censored": react is None,
                "recovery": recover,
            }
        )
    return out


def _healthy_from(sc: Scenario, ev: Any) -> int:
    """When the provider is healthy again after ``ev``: its end, or later when another outage
    of the same provider in overlapping segments runs on past it.  Recovery is counted from
    there: a policy that keeps avoiding a provider still in an outage is not slow to recover."""
    healthy = ev.end
    changed = True
    while changed:
        changed = False
        for other in sc.events:
            overlaps = (
                other.segments is None or ev.segments is None or bool(other.segments & ev.segments)
            )
            same = other.kind == "outage" and other.provider == ev.provider and overlaps
            if same and other.start <= healthy < other.end:
                healthy, changed = other.end, True
    return healthy


def _first(picks: list[bool], window: int, ok: Callable[[float], bool]) -> int | None:
    """The first index whose next ``window`` picks satisfy ``ok`` on their share."""
    if len(picks) < window:
        return None
    total = sum(picks[:window])
    for j in range(len(picks) - window + 1):
        if j:
            total += picks[j + window - 1] - picks[j - 1]
        if ok(total / window):
            return j
    return None


def main(argv: list[str] | None = None) -> None:
    """CLI: simulate every policy through one scenario and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="outage", choices=sorted(SCENARIOS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--transactions", type=int, default=20000)
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--out", help="folder for results.json and timeline.svg")
    args = ap.parse_args(argv)
    sc = build(args.scenario, args.seed, args.transactions)
    results = {name: run(sc, name, args.seed) for name in args.policies.split(",")}
    print(f"scenario {args.scenario} seed {args.seed}: {args.transactions} transactions")
    for name, r in results.items():
        reactions = [o["reaction"] for o in r["outages"]]
        recoveries = [o["recovery"] for o in r["outages"] if o["recovery"] is not None]
        print(
            f"{name:16} SR {r['success_rate']:6.2f}%  regret {r['regret_pp']:5.2f} pp  "
            f"revenue {r['revenue_vs_oracle']:6.2f}%  explore {r['exploration']:5.1f}%  "
            f"react {reactions} recover {recoveries}  {r['us_per_decision']:.1f} µs"
        )
    if args.out:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(results, indent=1))
        names = [p.name for p in sc.providers]
        (folder / "timeline.svg").write_text(timeline_svg(sc, results, names, BUCKET))


if __name__ == "__main__":
    main()
