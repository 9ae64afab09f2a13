"""Failover (API.md §5 step 2): a provider that is down or erroring is skipped for the next
eligible one; when every one fails the customer sees "try again" and the session stays open."""

from __future__ import annotations

from kadosei.models import Attempt, PaymentSession
from kadosei.providers.sandbox.knobs import update_knobs
from kadosei.services.provider_choice import rank_providers


def _ranked(session: dict) -> list[str]:
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    return [provider.name for provider, _ in rank_providers(row)]


def test_providers_are_ranked_by_fee_for_the_amount_then_name(merchant):
    session = merchant.create_session()
    row = PaymentSession.query.filter_by(id=session["id"]).one()

    ranked = rank_providers(row)

    fees = [why["candidates"][i]["fee"] for i, (_, why) in enumerate(ranked)]
    assert len(ranked) >= 2 and fees == sorted(fees)
    assert all(why["strategy"] == "static_fee_order" for _, why in ranked)


def test_when_the_first_provider_is_down_the_next_one_takes_the_payment(merchant, customer):
    session = merchant.create_session()
    first, second = _ranked(session)[:2]
    update_knobs(first, {"down": True})

    hosted = customer.go_to_hosted_page(session)

    assert f"/sandbox/{second}/pay/" in hosted
    attempts = Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).all()
    assert [(a.provider, a.status) for a in attempts] == [(first, "error"), (second, "pending")]
    assert attempts[0].error_code == "provider_error" and attempts[0].error_message
    assert attempts[0].duration_ms is not None
    assert attempts[1].explanation["failover_after"] == [first]


def test_when_every_provider_fails_the_customer_may_try_again(merchant, customer):
    session = merchant.create_session()
    ranked = _ranked(session)
    for name in ranked:
        update_knobs(name, {"error_rate": 1.0})

    page = customer.open_checkout(session)

    assert page.status_code == 503
    assert b"temporarily unavailable" in page.data
    assert merchant.session(session["id"])["status"] == "open"
    assert Attempt.query.filter_by(session_id=session["id"], status="error").count() == len(ranked)
    update_knobs(ranked[0], {"error_rate": 0.0})
    assert customer.open_checkout(session).status_code == 303


def test_a_disabled_provider_is_not_offered(merchant):
    session = merchant.create_session()
    first = _ranked(session)[0]
    update_knobs(first, {"enabled": False})

    assert first not in _ranked(session)
