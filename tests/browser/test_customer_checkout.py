"""The customer's way in a real browser (docs/api.md §5, §6): kadosei's checkout and the
sandbox provider's hosted page, on a phone, showing the shop and never the portal."""

from __future__ import annotations

import re
from contextlib import contextmanager

from browser_support import PHONE, page_problems

from kadosei.sandbox.knobs import update_knobs
from kadosei.sandbox.psps import PSPS


@contextmanager
def every_sandbox_provider_down(app):
    with app.app_context():
        for psp in PSPS:
            update_knobs(psp.name, {"down": True})
    try:
        yield
    finally:
        with app.app_context():
            for psp in PSPS:
                update_knobs(psp.name, {"down": False})


def _merchant_key(site):
    page, account = site.signed_in()
    app_id = site.create_application(page)
    return page, account, site.create_api_key(page, app_id)


def test_a_customer_pays_by_card_and_lands_on_the_shops_page(site):
    _, account, secret = _merchant_key(site)
    session = site.create_session(secret, description="Two books")
    customer = site.new_page(PHONE)

    customer.goto(session["checkout_url"])
    customer.wait_for_url(re.compile(r"/sandbox/\w+/pay/"))
    assert customer.get_by_role("heading", name=f"Pay {account.shop}").is_visible()
    assert customer.get_by_text("Two books").is_visible()
    assert page_problems(customer) == []
    customer.get_by_label("Card number").fill("4242 4242 4242 4242")
    customer.get_by_role("button", name="Pay 19.99 EUR").click()

    customer.wait_for_url(re.compile(r"/shop/thanks\?session_id=ps_\w+$"))
    assert customer.locator("#session").inner_text() == session["id"]
    assert site.get_session(secret, session["id"])["status"] == "succeeded"


def test_the_checkout_shows_the_shop_and_never_the_portal_even_to_its_merchant(site):
    merchant, account, secret = _merchant_key(site)
    session = site.create_session(secret)
    site.pay_by_card(site.new_page(PHONE), session)

    merchant.goto(session["checkout_url"])

    assert merchant.get_by_role("heading", name="This payment is already complete").is_visible()
    assert merchant.locator("header").get_by_text(account.shop).is_visible()
    assert merchant.get_by_role("navigation").count() == 0
    assert merchant.get_by_role("button", name="Log out").count() == 0
    assert account.shop in merchant.title()


def test_when_every_provider_is_down_the_customer_may_try_again_or_return_to_the_shop(site):
    _, account, secret = _merchant_key(site)
    session = site.create_session(secret)
    customer = site.new_page(PHONE)

    with every_sandbox_provider_down(site.server.app):
        answer = customer.goto(session["checkout_url"])
        assert answer.status == 503
        assert customer.get_by_role("heading", name="Payment temporarily unavailable").is_visible()
        assert customer.locator("header").get_by_text(account.shop).is_visible()
        assert page_problems(customer) == []
        site.screenshot(customer, "checkout-unavailable")
        customer.get_by_role("link", name="Return to the shop").click()
        customer.wait_for_url(re.compile(r"/shop/cart\?session_id=ps_\w+$"))
        assert site.get_session(secret, session["id"])["status"] == "open"
        customer.go_back()

    customer.get_by_role("link", name="Try again").click()
    customer.wait_for_url(re.compile(r"/sandbox/\w+/pay/"))
