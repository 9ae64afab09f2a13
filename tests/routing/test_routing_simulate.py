"""The simulator and the baselines: deterministic, and kadosei ahead where it must be."""

from __future__ import annotations

from bench.routing import simulate
from bench.routing.scenarios import Event, build


def test_simulation_is_deterministic_under_a_seed():
    sc = build("outage", 3, 4000)
    one = simulate.run(sc, "kadosei", 3)
    two = simulate.run(build("outage", 3, 4000), "kadosei", 3)
    for key in ("success_rate", "regret_pp", "revenue_vs_oracle", "outages"):
        assert one[key] == two[key]


def test_kadosei_reacts_to_an_outage_faster_than_the_sliding_window_baselines():
    sc = build("outage", 1, 8000)
    results = {name: simulate.run(sc, name, 1) for name in ("kadosei", "srv3", "hyperswitch")}
    react = {n: sum(o["reaction"] for o in r["outages"]) for n, r in results.items()}
    assert results["kadosei"]["outages"]
    assert react["kadosei"] < react["srv3"]
    assert react["kadosei"] < react["hyperswitch"]
    assert results["kadosei"]["regret_pp"] < results["srv3"]["regret_pp"]


def test_recovery_is_counted_from_when_the_provider_is_healthy_again():
    sc = build("stable", 1, 4000)
    first = Event("outage", "stripe", 1000, 1500, 0.98)
    sc.events = [
        first,
        Event("outage", "stripe", 1400, 2000, 0.6),  # overlaps the first: still down
        Event("outage", "stripe", 2000, 2300, 0.98, frozenset([0])),  # carries on in segment 0
        Event("outage", "adyen", 1400, 3000, 0.98),  # another provider: irrelevant
        Event("outage", "stripe", 3500, 3600, 0.98),  # later, separate
    ]
    assert simulate._healthy_from(sc, first) == 2300
    assert simulate._healthy_from(sc, sc.events[-1]) == 3600


def test_cli_writes_json_and_svg(tmp_path):
    simulate.main(
        ["--scenario", "stable", "--seed", "1", "--transactions", "1000",
         "--policies", "kadosei,round_robin", "--out", str(tmp_path)]
    )  # fmt: skip
    assert (tmp_path / "results.json").read_text().startswith("{")
    svg = (tmp_path / "timeline.svg").read_text()
    assert svg.startswith("<svg") and "<polyline" in svg
