"""Failover (docs/api.md §5 step 2): a provider that is down or erroring is skipped for the next
one the router ranks; when every one fails the customer sees "try again" and the session
stays open. Whatever order the router chooses, the invariants below hold."""

from __future__ import annotations

from kadosei.models import Attempt, PaymentSession
from kadosei.sandbox.knobs import update_knobs
from kadosei.services.provider_choice import rank_providers


def _eligible(session: dict) -> list[str]:
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    return sorted(provider.name for provider, _ in rank_providers(row))


def _attempts(session: dict) -> list[Attempt]:
    return Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).all()


def test_every_failing_provider_is_tried_in_turn_then_try_again_is_offered(merchant, customer):
    session = merchant.create_session()
    eligible = _eligible(session)
    for name in eligible:
        update_knobs(name, {"down": True})

    page = customer.open_checkout(session)

    assert page.status_code == 503
    assert b"temporarily unavailable" in page.data
    assert merchant.session(session["id"])["status"] == "open"
    attempts = _attempts(session)
    assert sorted(a.provider for a in attempts) == eligible and len(eligible) >= 2
    for position, attempt in enumerate(attempts):
        assert attempt.status == "error" and attempt.error_code == "provider_error"
        assert attempt.error_message and attempt.duration_ms is not None
        tried_before = [a.provider for a in attempts[:position]]
        assert attempt.explanation.get("failover_after", []) == tried_before


def test_when_providers_are_down_the_one_still_up_takes_the_payment(merchant, customer):
    session = merchant.create_session()
    *down, survivor = _eligible(session)
    for name in down:
        update_knobs(name, {"down": True})

    hosted = customer.go_to_hosted_page(session)

    assert f"/sandbox/{survivor}/pay/" in hosted
    *failed, taken = _attempts(session)
    assert (taken.provider, taken.status) == (survivor, "pending")
    assert all(a.status == "error" and a.provider in down for a in failed)
    assert taken.explanation.get("failover_after", []) == [a.provider for a in failed]


def test_after_an_outage_the_customer_can_try_again(merchant, customer):
    session = merchant.create_session()
    eligible = _eligible(session)
    for name in eligible:
        update_knobs(name, {"error_rate": 1.0})
    assert customer.open_checkout(session).status_code == 503

    update_knobs(eligible[0], {"error_rate": 0.0})

    assert f"/sandbox/{eligible[0]}/pay/" in customer.go_to_hosted_page(session)
    assert merchant.session(session["id"])["status"] == "open"


def test_a_disabled_provider_is_not_offered(merchant):
    session = merchant.create_session()
    first = _eligible(session)[0]
    update_knobs(first, {"enabled": False})

    assert first not in _eligible(session)
