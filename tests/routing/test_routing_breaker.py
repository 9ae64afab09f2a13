"""The circuit breaker: trips on API errors, probes after a cool-down, closes on a success."""

from __future__ import annotations

from kadosei.routing import Router

CTX = {"payment_method": "card", "currency": "EUR", "amount": 2000, "mode": "live"}
CANDS = [
    {"provider": "a", "fee_percent": 1.0, "fee_fixed": 10},
    {"provider": "b", "fee_percent": 2.0, "fee_fixed": 20},
]


def warm(router: Router) -> None:
    for i in range(200):
        router.record(CTX, "a", "succeeded", now=float(i))
        router.record(CTX, "b", "succeeded" if i % 10 else "failed", now=float(i))


def breaker_of(router: Router, name: str, now: float) -> str:
    return router.provider_status(CTX, [name], now=now)[name]["breaker"]


def test_breaker_trips_on_errors_and_ranks_the_provider_last():
    router = Router(seed=1)
    warm(router)
    assert router.rank(CTX, CANDS, now=200.0)[0] == "a"
    router.record(CTX, "a", "error", now=200.0)
    router.record(CTX, "a", "error", now=200.5)
    assert breaker_of(router, "a", 201.0) == "open"
    ranked = router.rank(CTX, CANDS, now=201.0)
    assert list(ranked) == ["b", "a"]
    rows = {c["provider"]: c for c in ranked.explanation["candidates"]}
    assert rows["a"]["breaker"] == "open"
    assert ranked.explanation["eligible"] == ["b"]


def test_declines_do_not_trip_the_breaker():
    router = Router(seed=2)
    warm(router)
    for i in range(10):
        router.record(CTX, "a", "failed", now=200.0 + i)
    assert breaker_of(router, "a", 211.0) == "closed"


def test_a_high_error_rate_trips_even_without_consecutive_errors():
    router = Router(seed=3)
    warm(router)
    t = 200.0
    for outcome in ["error", "succeeded", "error", "failed", "error", "succeeded", "error"] * 2:
        router.record(CTX, "a", outcome, now=t)
        t += 0.5
    assert breaker_of(router, "a", t) == "open"


def test_breaker_half_opens_after_cool_down_sends_one_probe_and_closes_on_success():
    router = Router(seed=4)
    warm(router)
    router.record(CTX, "a", "error", now=200.0)
    router.record(CTX, "a", "error", now=200.1)
    cooldown = router.params.breaker_cooldown
    assert router.rank(CTX, CANDS, now=200.0 + cooldown / 2)[0] == "b"
    probe = router.rank(CTX, CANDS, now=200.2 + cooldown)
    assert probe[0] == "a" and probe.reason == "probe"
    assert probe.explanation["candidates"][0]["breaker"] == "half_open"
    # Only one probe goes out while it is unanswered.
    assert router.rank(CTX, CANDS, now=200.3 + cooldown)[0] == "b"
    router.record(CTX, "a", "succeeded", now=201.0 + cooldown)
    assert breaker_of(router, "a", 201.0 + cooldown) == "closed"
    assert router.rank(CTX, CANDS, now=202.0 + cooldown)[0] == "a"


def test_a_failed_probe_reopens_with_a_longer_cool_down():
    router = Router(seed=5)
    warm(router)
    router.record(CTX, "a", "error", now=200.0)
    router.record(CTX, "a", "error", now=200.0)
    cooldown = router.params.breaker_cooldown
    t = 200.0 + cooldown
    assert router.rank(CTX, CANDS, now=t)[0] == "a"
    router.record(CTX, "a", "error", now=t)
    assert breaker_of(router, "a", t) == "open"
    assert router.rank(CTX, CANDS, now=t + cooldown)[0] == "b"  # still cooling (doubled)
    assert router.rank(CTX, CANDS, now=t + 2 * cooldown)[0] == "a"


def test_a_closed_breaker_forgets_the_outage_errors_in_every_segment():
    """The probe that closes the breaker runs in one segment; the errors the outage left in
    the provider's other segments must not keep holding it back there."""
    router = Router(seed=6)
    usd = {**CTX, "currency": "USD"}
    warm(router)
    for i in range(200):
        router.record(usd, "a", "succeeded", now=float(i))
        router.record(usd, "b", "succeeded" if i % 10 else "failed", now=float(i))
    router.record(usd, "a", "error", now=1000.0)
    router.record(CTX, "a", "error", now=1000.1)
    assert breaker_of(router, "a", 1000.2) == "open"
    assert router.rank(usd, CANDS, now=1000.5)[0] == "b"
    t = 1000.2 + router.params.breaker_cooldown
    probe = router.rank(CTX, CANDS, now=t)
    assert probe.reason == "probe" and probe[0] == "a"
    router.record(CTX, "a", "succeeded", now=t + 0.5)
    assert breaker_of(router, "a", t + 1.0) == "closed"
    status = router.provider_status(usd, ["a"], now=t + 1.0)["a"]
    assert status["availability"] > 0.99
    assert router.rank(usd, CANDS, now=t + 1.0)[0] == "a"
