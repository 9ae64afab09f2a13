"""The retry simulator (bench/routing/retries.py): deterministic, bounded, and the pass-over
retry recovers the provider-side declines a same-provider retry does not."""

from __future__ import annotations

from bench.routing import retries
from bench.routing.scenarios import build


def test_the_retry_simulation_is_deterministic_under_a_seed():
    customers = retries.Customers()
    one = retries.compare("stable", 5, 1500, customers)
    two = retries.compare("stable", 5, 1500, customers)

    assert one == two


def test_both_strategies_see_the_same_sessions_and_first_declines():
    result = retries.compare("stable", 3, 2000, retries.Customers())
    passing, same = result["pass_over"], result["same_provider"]

    assert passing["sessions"] == same["sessions"] == 2000
    assert passing["declined"] > 0 and passing["provider_declined"] > 0
    assert passing["issuer_declined"] > passing["provider_declined"]  # issuers decline most


def test_passing_over_recovers_more_provider_side_declines_than_returning():
    result = retries.compare("outage", 3, 3000, retries.Customers(stickiness=0.9))
    passing, same = result["pass_over"], result["same_provider"]

    assert passing["provider_recovered_share"] > same["provider_recovered_share"] + 10
    assert passing["recovered_share"] > same["recovered_share"]


def test_nobody_retries_nothing_is_recovered():
    result = retries.run(build("stable", 1, 1000), "pass_over", 1, retries.Customers(retry=0.0))

    assert result["recovered"] == 0 and result["attempts"] == result["sessions"]


def test_the_section_replaces_an_earlier_one_and_keeps_the_rest(tmp_path):
    (tmp_path / "routing-results.md").write_text("# Routing benchmark results\n\nTable.\n")

    retries.write_section(tmp_path, f"{retries.MARKER}\n## Retries\nold\n")
    retries.write_section(tmp_path, f"{retries.MARKER}\n## Retries\nnew\n")

    text = (tmp_path / "routing-results.md").read_text()
    assert text.startswith("# Routing benchmark results\n\nTable.\n")
    assert text.count(retries.MARKER) == 1 and "new" in text and "old" not in text
