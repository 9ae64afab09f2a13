"""Every routing decision an attempt can carry reads as one plain sentence (routing_words)."""

from __future__ import annotations

import re
from pathlib import Path

from kadosei.routing import Router
from kadosei.routing.store import MemoryStore, StoreUnavailable
from kadosei.services.routing import default_order
from kadosei.services.routing_words import (
    REASONS,
    attempt_sentence,
    clock_time,
    pause_words,
    payments_seen,
    rule_words,
)

NAMES = {"sandbox_harbor": "Harbor", "sandbox_lumen": "Lumen", "sandbox_orbit": "Orbit"}
ROOT = Path(__file__).resolve().parents[2]
CARD_EUR = {"mode": "test", "payment_method": "card", "currency": "EUR", "amount": 2000}
AT_14_05 = 1_796_133_900.0  # 2026-12-01 14:05:00 UTC


def candidate(provider, rank, *, breaker="closed", estimate=0.8, fee=30.0, ev=1500.0, **extra):
    return {
        "provider": provider,
        "rank": rank,
        "breaker": breaker,
        "estimate": estimate,
        "fee": fee,
        "ev": ev,
        "sampled_ev": ev,
        **extra,
    }


def decision(reason, chosen, candidates, **extra):
    return {
        "policy": "kadosei-ev-ts-2",
        "reason": reason,
        "chosen": chosen,
        "segment": {"mode": "test", "payment_method": "card", "currency": "EUR"},
        "amount": 2000,
        "candidates": candidates,
        "strategy": "learned",
        "rank": 1,
        "rules": [],
        "excluded": [],
        **extra,
    }


def say(why, provider=None):
    return attempt_sentence(why, provider, NAMES)


def test_the_best_expected_value_names_the_segment_the_success_and_the_fee():
    why = decision(
        "exploit",
        "sandbox_harbor",
        [
            candidate("sandbox_harbor", 1, estimate=0.7312, fee=23.4, ev=1445.0),
            candidate("sandbox_lumen", 2, estimate=0.7, fee=55.0, ev=1361.0),
        ],
    )

    assert say(why) == (
        "Sent to Harbor: the best expected value for card payments in EUR"
        " (success 73%, fee 0.23 EUR)"
    )


def test_amounts_follow_the_currencys_exponent():
    why = decision("exploit", "sandbox_harbor", [candidate("sandbox_harbor", 1, fee=23.0)])
    why["candidates"].append(candidate("sandbox_lumen", 2, ev=10.0))
    jpy = {**why, "segment": {"payment_method": "card", "currency": "JPY"}}
    kwd = {**why, "segment": {"payment_method": "paypal", "currency": "KWD"}}

    assert say(jpy).endswith("card payments in JPY (success 80%, fee 23 JPY)")
    assert say(kwd).endswith("PayPal payments in KWD (success 80%, fee 0.023 KWD)")


def test_the_only_provider_is_said_to_be_the_only_one():
    why = decision("exploit", "sandbox_orbit", [candidate("sandbox_orbit", 1)])

    assert say(why) == "Sent to Orbit: the only provider for card payments in EUR"


def test_a_failover_says_which_provider_could_not_be_reached():
    why = decision("exploit", "sandbox_harbor", [candidate("sandbox_orbit", 1)])
    why["failover_after"] = ["sandbox_harbor"]
    twice = {**why, "failover_after": ["sandbox_harbor", "sandbox_lumen"]}

    assert say(why, "sandbox_orbit") == "Retried on Orbit after Harbor could not be reached"
    assert say(twice, "sandbox_orbit") == (
        "Retried on Orbit after Harbor and Lumen could not be reached"
    )


def test_a_paused_provider_that_would_have_won_is_named_with_its_retry_time():
    why = decision(
        "exploit",
        "sandbox_lumen",
        [
            candidate("sandbox_lumen", 1, ev=1400.0),
            candidate(
                "sandbox_harbor",
                2,
                breaker="open",
                ev=1500.0,
                errors_in_a_row=3,
                retry_at=AT_14_05,
            ),
        ],
    )

    assert say(why) == (
        "Sent to Lumen: Harbor is paused after errors and will be tried again at 14:05:00 UTC"
    )


def test_exploration_is_a_small_test_of_a_less_known_provider():
    why = decision("explore", "sandbox_lumen", [candidate("sandbox_lumen", 1)])

    assert say(why) == "Sent to Lumen as a small test of a provider we know less about"


def test_the_hold_keeps_the_cheapest_and_names_the_challenger():
    why = decision(
        "hold",
        "sandbox_lumen",
        [
            candidate("sandbox_lumen", 1, ev=1400.0),
            candidate("sandbox_orbit", 2, ev=1450.0),
            candidate("sandbox_harbor", 3, ev=1420.0),
        ],
    )

    assert say(why) == (
        "Kept on Lumen, the cheapest: Orbit looks better but not yet by enough to be sure"
    )


def test_the_recovery_payment_and_every_provider_paused():
    probe = decision("probe", "sandbox_harbor", [candidate("sandbox_harbor", 1)])
    all_open = decision("all_breakers_open", "sandbox_harbor", [candidate("sandbox_harbor", 1)])

    assert say(probe) == (
        "Sent to Harbor as a single test payment, to check it has recovered from errors"
    )
    assert say(all_open) == (
        "Sent to Harbor: every provider is paused after errors and Harbor looked most likely"
        " to work"
    )


def test_the_safe_default_order_says_why_it_was_used():
    unavailable = decision(
        "store_unavailable", "sandbox_lumen", [{"provider": "sandbox_lumen", "fee": 30.0}]
    )
    failed = {**unavailable, "reason": "router_error"}
    unknown_fee = {**unavailable, "candidates": [{"provider": "sandbox_lumen", "fee": None}]}

    assert say(unavailable) == (
        "Sent to Lumen, the cheapest: routing figures were unavailable, so the standard order"
        " (lowest fee first) was used"
    )
    assert say(failed).startswith("Sent to Lumen, the cheapest: the routing calculation failed")
    assert say(unknown_fee).startswith("Sent to Lumen: routing figures were unavailable")


def test_operator_rules_speak_for_the_account_or_everyone():
    pin = {"kind": "pin_providers", "scope": "m_1", "source": "api"}
    pin["providers"] = ["sandbox_harbor", "sandbox_lumen"]
    pinned = decision("exploit", "sandbox_harbor", [candidate("sandbox_harbor", 1)], rules=[pin])
    split = {"kind": "fixed_split", "scope": "m_1", "source": "api", "bucket": 0.3}
    split["weights_used"] = {"sandbox_harbor": 7.0, "sandbox_lumen": 3.0}
    by_split = decision("rule", "sandbox_harbor", [candidate("sandbox_harbor", 1)], rules=[split])
    off = {"kind": "disable_provider", "scope": "global", "provider": "sandbox_orbit"}

    assert say(pinned) == (
        "Sent to Harbor: your account is pinned to Harbor and Lumen by the operator"
    )
    assert say({**pinned, "rules": [{**pin, "scope": "global"}]}) == (
        "Sent to Harbor: the operator limits every account to Harbor and Lumen"
    )
    assert say(by_split) == (
        "Sent to Harbor: the operator shares your payments between providers"
        " (Harbor 70%, Lumen 30%)"
    )
    assert rule_words({**off, "note": "maintenance"}, NAMES) == (
        "Orbit is switched off for every account — “maintenance”"
    )


def test_every_reason_the_code_can_store_has_its_own_sentence():
    sources = ["kadosei/routing/explanation.py", "kadosei/services/routing.py"]
    stored = set()
    for source in sources:
        text = (ROOT / source).read_text()
        stored |= set(re.findall(r'reason = "(\w+)"', text))
        stored |= set(re.findall(r'"reason": "(\w+)"', text))
        stored |= set(re.findall(r'explanation\["reason"\] = "(\w+)"', text))
        stored |= set(re.findall(r'Ranking\(names, "(\w+)"', text))
    assert stored == set(REASONS)
    for reason in REASONS:
        why = decision(reason, "sandbox_lumen", [candidate("sandbox_lumen", 1)])
        sentence = say(why)
        assert sentence != "Sent to Lumen" and "Lumen" in sentence, reason


def test_the_routers_own_explanations_read_as_sentences():
    router = Router(seed=3, store=MemoryStore())
    candidates = [
        {"provider": "sandbox_harbor", "fee_percent": 1.0, "fee_fixed": 10},
        {"provider": "sandbox_lumen", "fee_percent": 1.5, "fee_fixed": 25},
    ]
    for _ in range(3):
        router.record(CARD_EUR, "sandbox_harbor", "error", now=AT_14_05)

    ranking = router.rank(CARD_EUR, candidates, now=AT_14_05)
    _, fallback = default_order(CARD_EUR, candidates)

    harbor = next(c for c in ranking.explanation["candidates"] if c["provider"] == "sandbox_harbor")
    assert harbor["breaker"] == "open" and harbor["errors_in_a_row"] == 3
    assert harbor["retry_at"] == AT_14_05 + router.params.breaker_cooldown
    assert say(ranking.explanation) == (
        "Sent to Lumen: Harbor is paused after errors and will be tried again at 14:05:10 UTC"
    )
    assert say(fallback) == (
        "Sent to Harbor, the cheapest: the routing calculation failed, so the standard order"
        " (lowest fee first) was used"
    )


def test_the_routers_fallback_when_its_store_is_down_reads_as_a_sentence():
    class DownStore(MemoryStore):
        def read(self, *args):
            raise StoreUnavailable("down")

    ranking = Router(store=DownStore()).rank(
        CARD_EUR, [{"provider": "sandbox_orbit", "fee_percent": 1.0, "fee_fixed": 10}]
    )

    assert say(ranking.explanation).startswith(
        "Sent to Orbit, the cheapest: routing figures were unavailable"
    )


def test_a_paused_provider_says_why_and_when_it_is_tried_again():
    paused = {"breaker": "open", "errors_in_a_row": 3, "retry_at": AT_14_05}

    assert pause_words(paused, now=AT_14_05 - 60) == (
        "Paused after 3 errors in a row; tried again at 14:05:00 UTC"
    )
    assert pause_words(paused, now=AT_14_05 + 1) == (
        "Paused after 3 errors in a row; tried again with the next payment"
    )
    assert pause_words({**paused, "errors_in_a_row": 1}, now=0).startswith(
        "Paused after repeated errors"
    )
    assert pause_words({"breaker": "half_open", "retry_at": AT_14_05}).startswith(
        "Recovering: one test payment sent at 14:05:00 UTC"
    )
    assert pause_words({"breaker": "closed"}) is None


def test_times_and_counts_are_written_for_people():
    assert clock_time(AT_14_05) == "14:05:00 UTC"
    assert (payments_seen(0.2), payments_seen(1.1), payments_seen(1234.4)) == (
        "no payments yet",
        "≈ 1 payment",
        "≈ 1,234 payments",
    )
