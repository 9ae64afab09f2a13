"""The issue's "done when": a merchant holds a card payment at checkout, captures it when the
order ships, and its server is told by a signed webhook (``payment_session.succeeded``,
Standard Webhooks, verified by the standard library) carrying what was captured."""

from __future__ import annotations

from tests.capture.capture_support import Customer, MerchantApi, run_jobs
from tests.conftest import HttpsClient
from tests.webhooks import webhook_support

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app


def test_a_held_payment_captured_when_the_order_ships_is_announced_by_a_signed_webhook(
    webhook_app, client, factories, receiver
):
    webhook_app.config["SANDBOX_PROCESSING_SECONDS"] = 0
    merchant_row, user = factories.make_merchant()
    application = factories.make_application(merchant_row)
    _, api_key = factories.make_api_key(application, "test")
    created = client.post(
        f"/api/v1/applications/{application.id}/webhook_endpoints",
        json={
            "url": receiver.url,
            "mode": "test",
            "events": ["payment_session.requires_capture", "payment_session.succeeded"],
        },
        headers=factories.jwt_headers(user),
    )
    assert created.status_code == 201
    receiver.secret = created.get_json()["secret"]
    shop = MerchantApi(client, api_key)
    webhook_app.test_client_class = HttpsClient
    customer = Customer(webhook_app.test_client())

    # Checkout: the card is authorised, nothing taken yet; the shop hears it is held.
    session = shop.create_session(capture_method="manual", amount=4500, reference="order-77")
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")
    run_jobs(webhook_app)
    assert customer.follow(back).startswith("https://shop.example/thanks")
    held = receiver.wait_for(1)
    assert held[0].verify(receiver.secret)["type"] == "payment_session.requires_capture"

    # The order ships with one item out of stock: capture what ships, release the rest.
    shipped = client.post(
        f"/api/v1/payment_sessions/{session['id']}/capture",
        json={"amount": 3000},
        headers={**shop.headers, "Idempotency-Key": "ship-order-77"},
    )
    assert shipped.status_code == 200, shipped.get_json()
    run_jobs(webhook_app)

    delivered = receiver.wait_for(2)
    message = delivered[1].verify(receiver.secret)
    assert message["type"] == "payment_session.succeeded"
    captured = message["data"]["object"]
    assert captured["id"] == session["id"] and captured["reference"] == "order-77"
    assert captured["status"] == "succeeded"
    assert (captured["amount"], captured["amount_captured"]) == (4500, 3000)
    assert captured == shipped.get_json()
    assert receiver.rejected == []
