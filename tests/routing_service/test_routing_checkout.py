"""The learned router on the checkout road: failover, learning each outcome once, moving off a
provider that goes down and back once it recovers, and Redis being down."""

from __future__ import annotations

from routing_service_support import (
    CARD_EUR,
    PAYS,
    PROVIDERS,
    Customer,
    MerchantApi,
    attempts_of,
    csrf_token,
    path_of,
    router_view,
    run_jobs,
)

from kadosei.extensions import db
from kadosei.models import PaymentSession
from kadosei.routing import MemoryStore, Router
from kadosei.sandbox.knobs import update_knobs
from kadosei.sandbox.models import SandboxPayment
from kadosei.sandbox.schemes import build_notification
from kadosei.services import routing
from tests.conftest import HttpsClient, _truncate_all, make_test_app
from tests.factories import Factories

FAVOURITE = "sandbox_lumen"


def teach_favourite(clock, favourite: str = FAVOURITE, rounds: int = 200) -> None:
    """Outcomes that make ``favourite`` clearly the best for card payments in EUR."""
    router = routing.get_router()
    for i in range(rounds):
        for name in PROVIDERS:
            ok = name == favourite or i % 3
            router.record(CARD_EUR, name, "succeeded" if ok else "failed", now=clock())


def first_provider(merchant: MerchantApi, customer: Customer) -> tuple[str, dict]:
    """One paid checkout; the provider of its first attempt and that attempt's explanation."""
    session = merchant.create_session()
    customer.pay(customer.go_to_hosted_page(session))
    first = attempts_of(session)[0]
    return first.provider, first.explanation


def test_when_the_first_ranked_provider_is_down_the_next_gets_the_attempt(
    merchant, customer, clock
):
    teach_favourite(clock)
    update_knobs(FAVOURITE, {"down": True})
    session = merchant.create_session()

    hosted = customer.go_to_hosted_page(session)

    first, second = attempts_of(session)
    assert (first.provider, first.status, first.error_code) == (
        FAVOURITE,
        "error",
        "provider_error",
    )
    assert second.status == "pending" and f"/sandbox/{second.provider}/pay/" in hosted
    assert first.explanation["strategy"] == "learned" and first.explanation["chosen"] == FAVOURITE
    assert first.explanation["rank"] == 1 and len(first.explanation["candidates"]) == 3
    assert second.explanation["failover_after"] == [FAVOURITE]
    assert second.provider != FAVOURITE and second.explanation["strategy"] == "learned"
    assert {c["provider"] for c in second.explanation["candidates"]} == set(PROVIDERS)
    assert router_view()[FAVOURITE]["availability"] < 1.0  # the error was learned


def test_every_provider_erroring_leaves_the_session_open_and_each_error_learned(merchant, customer):
    for name in PROVIDERS:
        update_knobs(name, {"error_rate": 1.0})
    session = merchant.create_session()

    page = customer.client.get("/checkout/" + session["id"])

    assert page.status_code == 503
    assert sorted(a.provider for a in attempts_of(session)) == sorted(PROVIDERS)
    assert all(view["availability"] < 1.0 for view in router_view().values())


def test_an_attempts_outcome_is_learned_once_whichever_road_brings_it(
    app, client, merchant, customer, clock
):
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)
    page = customer.client.get(path_of(hosted))
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "card_number": PAYS}
    back = customer.client.post(path_of(hosted), data=form)
    run_jobs(app)  # the sandbox's signed notification: the first road
    customer.client.get(path_of(back.headers["Location"]))  # the return confirmation
    attempt = attempts_of(session)[0]
    payment = SandboxPayment.query.filter_by(id=attempt.provider_reference).one()
    body, headers = build_notification(payment)
    for _ in range(2):  # the provider repeats itself
        client.post(
            f"/providers/{attempt.provider}/notifications",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
        )

    once = Router(store=MemoryStore(), params=routing.get_router().params)
    once.record(CARD_EUR, attempt.provider, "succeeded", now=clock())
    expected = once.provider_status(CARD_EUR, list(PROVIDERS), now=clock())
    assert (
        merchant.client.get(
            f"/api/v1/payment_sessions/{session['id']}", headers=merchant.headers
        ).json["status"]
        == "succeeded"
    )
    assert router_view() == expected


def test_a_provider_marked_down_loses_new_checkouts_then_wins_them_back(merchant, customer, clock):
    teach_favourite(clock)
    before = [first_provider(merchant, customer)[0] for _ in range(4)]
    assert before.count(FAVOURITE) >= 3

    update_knobs(FAVOURITE, {"down": True})
    during = [first_provider(merchant, customer)[0] for _ in range(10)]
    # It errors (the customer is failed over) until its breaker opens after two errors; from
    # then on the others take the traffic.
    assert 1 <= during.count(FAVOURITE) <= 2 and FAVOURITE not in during[6:]
    assert during.count(FAVOURITE) == 1 or router_view()[FAVOURITE]["breaker"] == "open"

    update_knobs(FAVOURITE, {"down": False})
    clock.advance(120)  # past the breaker's cool-down
    after = [first_provider(merchant, customer) for _ in range(6)]
    assert after[0] == (FAVOURITE, after[0][1]) and after[0][1]["reason"] == "probe"
    assert [name for name, _ in after[1:]].count(FAVOURITE) >= 4
    assert router_view()[FAVOURITE]["breaker"] == "closed"


def test_with_redis_down_checkout_uses_the_default_order_and_still_gets_paid(database_url, _schema):
    app = make_test_app(database_url, "redis://127.0.0.1:1/0", SANDBOX_PROCESSING_SECONDS=0)
    with app.app_context():
        try:
            factories = Factories(app)
            application = factories.make_application()
            _, secret = factories.make_api_key(application, "test")
            app.test_client_class = HttpsClient
            merchant = MerchantApi(app.test_client(), secret)
            customer = Customer(app.test_client())
            session = merchant.create_session(amount=1999)

            destination = customer.pay(customer.go_to_hosted_page(session))

            attempt = attempts_of(session)[0]
            assert destination.startswith("https://shop.example/thanks")
            assert attempt.explanation["reason"] == "store_unavailable"
            # card, 19.99 EUR: Harbor 1.2% + 0.11 < Orbit 0.95% + 0.20 < Lumen 1.5% + 0.25
            assert [c["provider"] for c in attempt.explanation["candidates"]] == [
                "sandbox_harbor",
                "sandbox_orbit",
                "sandbox_lumen",
            ]
            assert attempt.provider == "sandbox_harbor"
            row = db.session.get(PaymentSession, attempt.session.pk)
            assert row.status == "succeeded"
        finally:
            db.session.remove()
            _truncate_all()
            db.engine.dispose()
