"""Tuning harness: kadosei with parameter overrides on the named scenarios' seeds only.

    .venv/bin/python bench/routing/tune.py --seeds 1,2,3 --jobs 2 \
        --variant base= --variant long=slow_gamma=0.9999

Prints regret (pp) per scenario for each variant next to static cheapest; a variant named
after a baseline (``--variant srv3=``) runs that baseline.  It never runs the
`random` or unseen worlds: those are for the final report only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.routing.baselines import BASELINES  # noqa: E402
from bench.routing.scenarios import build  # noqa: E402
from bench.routing.simulate import POLICIES, run  # noqa: E402
from kadosei.routing.policy import Router  # noqa: E402
from kadosei.routing.stats import Params  # noqa: E402

NAMED = ["stable", "drift", "outage", "step_change", "sparse", "fee_tradeoff"]


def _parse(spec: str) -> tuple[str, dict[str, float]]:
    """ "name=k1=v1,k2=v2" → (name, overrides)."""
    name, _, rest = spec.partition("=")
    overrides = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        overrides[key] = float(value)
    return name, overrides


def _job(args: tuple[str, int, int, str, dict]) -> tuple[str, int, str, float, list]:
    scenario, seed, n, variant, overrides = args
    if variant in BASELINES:
        r = run(build(scenario, seed, n), variant, seed)
    else:
        params = Params(**overrides)
        POLICIES["_try"] = lambda s: Router(seed=s, params=params)
        r = run(build(scenario, seed, n), "_try", seed)
    outages = [(o["reaction"], o["recovery"]) for o in r["outages"]]
    return scenario, seed, variant, r["regret_pp"], outages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--transactions", type=int, default=20000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scenarios", default=",".join(NAMED))
    ap.add_argument("--variant", action="append", default=[])
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    scenarios = args.scenarios.split(",")
    variants = [("static_cheapest", {})] + [_parse(v) for v in args.variant or ["base="]]
    jobs = [
        (s, seed, args.transactions, name, ov)
        for name, ov in variants
        for s in scenarios
        for seed in seeds
    ]
    with Pool(args.jobs) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    print("| variant | " + " | ".join(scenarios) + " | mean | react/recover |")
    for name, _ in variants:
        means = []
        outs = []
        for s in scenarios:
            vals = [r[3] for r in results if r[0] == s and r[2] == name]
            outs += [o for r in results if r[0] == s and r[2] == name for o in r[4]]
            means.append(statistics.fmean(vals))
        react = statistics.fmean(o[0] for o in outs) if outs else 0
        recs = [o[1] for o in outs if o[1] is not None]
        rec = statistics.fmean(recs) if recs else 0
        cells = " | ".join(f"{m:.2f}" for m in means)
        print(f"| {name} | {cells} | {statistics.fmean(means):.2f} | {react:.0f}/{rec:.0f} |")


if __name__ == "__main__":
    main()
