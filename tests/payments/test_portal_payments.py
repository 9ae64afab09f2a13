"""The portal's payment pages (docs/api.md §8): the signed-in merchant's sessions only, filters,
the detail page with attempts and why, transitions, events, notifications, the conflict."""

from __future__ import annotations

from payments_support import MerchantApi, csrf_token, post_notification, signed_notification

from kadosei.models import Attempt
from kadosei.schemas.requests import WebhookEndpointCreate
from kadosei.services import webhook_endpoints
from tests.conftest import HttpsClient
from tests.factories import PASSWORD


def _signed_in_browser(app, user):
    app.test_client_class = HttpsClient
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code in (302, 303)
    return browser


def test_the_payments_page_lists_only_the_merchants_sessions(app, factories, client):
    mine_merchant, me = factories.make_merchant()
    mine_app = factories.make_application(mine_merchant)
    _, secret = factories.make_api_key(mine_app)
    theirs_app = factories.make_application()
    _, their_secret = factories.make_api_key(theirs_app)
    mine = MerchantApi(client, secret).create_session(reference="my-order")
    theirs = MerchantApi(client, their_secret).create_session(reference="their-order")
    browser = _signed_in_browser(app, me)

    page = browser.get("/payments").get_data(as_text=True)
    filtered = browser.get("/payments?status=canceled").get_data(as_text=True)

    assert mine["id"] in page and theirs["id"] not in page
    assert "my-order" in page and mine["id"] not in filtered
    assert browser.get(f"/payments/{theirs['id']}").status_code == 404
    assert 'href="/payments"' in page  # the navigation entry


def test_the_detail_page_shows_attempts_why_and_the_conflict(app, factories, client, customer):
    merchant_row, user = factories.make_merchant()
    application = factories.make_application(merchant_row)
    merchant = MerchantApi(client, factories.make_api_key(application)[1])
    endpoint = webhook_endpoints.create_endpoint(
        application, WebhookEndpointCreate(url="https://hooks.shop.example/kadosei", mode="test")
    )
    session = merchant.create_session(description="Blue teapot")
    customer.go_to_hosted_page(session)
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    merchant.post(f"/payment_sessions/{session['id']}/cancel")
    post_notification(client, *signed_notification(attempt.provider_reference, "succeeded"))
    browser = _signed_in_browser(app, user)

    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)

    assert "refund the customer" in page
    assert attempt.id in page and attempt.provider in page and attempt.provider_reference in page
    assert f"Why {attempt.provider} for" in page
    assert "payment_session.canceled" in page and "payment_session.conflict" in page
    assert "conflict" in page and "canceled by the merchant" in page
    assert f"/webhooks/{endpoint.id}/deliveries/wd_" in page


def test_the_payments_pages_need_a_login(client):
    response = client.get("/payments")

    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_the_payments_page_filters_by_application_and_mode_and_pages(app, factories, client):
    merchant_row, user = factories.make_merchant()
    shop = factories.make_application(merchant_row, name="Shop")
    staging = factories.make_application(merchant_row, name="Staging")
    shop_api = MerchantApi(client, factories.make_api_key(shop)[1])
    staging_api = MerchantApi(client, factories.make_api_key(staging)[1])
    shop_ids = [shop_api.create_session()["id"] for _ in range(26)]
    staging_id = staging_api.create_session()["id"]
    browser = _signed_in_browser(app, user)

    first = browser.get(f"/payments?application={shop.id}&mode=test").get_data(as_text=True)

    assert staging_id not in first
    assert shop_ids[-1] in first and shop_ids[0] not in first  # newest first, 25 a page
    assert f"starting_after={shop_ids[1]}" in first and f"application={shop.id}" in first
    older = browser.get(
        f"/payments?application={shop.id}&mode=test&starting_after={shop_ids[1]}"
    ).get_data(as_text=True)
    assert shop_ids[0] in older and "Older payments" not in older
    assert browser.get("/payments?mode=live").status_code == 200
