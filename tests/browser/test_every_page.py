"""Every portal page and every customer page at a phone's width (390 px): nothing scrolls
sideways, every input is labelled, ids are unique, autocomplete values are real ones, a
favicon is linked. Screenshots of the main pages at desktop and phone widths are kept."""

from __future__ import annotations

import re

import requests
from browser_support import DESKTOP, PHONE, page_problems

MAIN_PAGES = {"applications", "application", "payments", "payment", "dashboard", "endpoint"}


def _merchant_with_a_paid_payment(site):
    """A merchant with an application, a key, a webhook endpoint that was sent an event and
    a paid session; returns (portal page, the paths to visit by name)."""
    page, _ = site.signed_in()
    app_id = site.create_application(page)
    secret = site.create_api_key(page, app_id)
    page.goto(f"/applications/{app_id}/webhooks")
    page.get_by_label("Endpoint URL").fill(f"{site.url}/shop/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url(re.compile(r"/webhooks/we_\w+$"))
    endpoint = page.url
    page.get_by_role("button", name="Send test event").click()
    page.wait_for_url(endpoint)
    delivery = page.locator("table a[href*='/deliveries/']").first.get_attribute("href")
    paid = site.create_session(
        secret, customer_email="grace@example.org", description="Two books", reference="o-1"
    )
    site.pay_by_card(site.new_page(), paid)
    # A refund through the key: the audit page then has its longest line (key and application).
    refunded = requests.post(
        f"{site.url}/api/v1/refunds",
        json={"payment_session": paid["id"], "amount": 500, "reason": "requested_by_customer"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert refunded.status_code == 201, refunded.text
    paths = {
        "applications": "/",
        "application": f"/applications/{app_id}",
        "webhooks": f"/applications/{app_id}/webhooks",
        "endpoint": endpoint,
        "delivery": delivery,
        "payments": "/payments",
        "payment": f"/payments/{paid['id']}",
        "dashboard": "/dashboard",
        "routing": "/routing",
        "sandbox-providers": "/sandbox-providers",
        "quickstart": "/docs/quickstart",
        "team": "/team",
        "audit": "/audit",
        "settings": "/settings",
        "settings-shop": "/settings/shop",
        "settings-password": "/settings/password",
        "settings-two-factor": "/settings/two-factor",
        "payment-methods": "/payment-methods",
    }
    return page, paths, secret, paid


def _check(site, page, name: str, problems: dict) -> None:
    found = page_problems(page)
    if found:
        problems[name] = found
    site.screenshot(page, name)


def test_no_page_scrolls_sideways_on_a_phone_and_every_form_is_labelled(site):
    desktop, paths, secret, paid = _merchant_with_a_paid_payment(site)
    phone = site.new_page(PHONE)
    phone.context.add_cookies(desktop.context.cookies())
    problems: dict[str, list[str]] = {}

    for name, path in paths.items():
        phone.goto(path)
        assert not phone.url.endswith("/login"), name
        _check(site, phone, name, problems)
        if name in MAIN_PAGES:
            desktop.goto(path)
            site.screenshot(desktop, name)

    visitor = site.new_page(PHONE)
    invitation = site.invite(desktop, "new.teammate@example.org", "viewer")
    visitor_pages = {
        "signup": "/signup",
        "login": "/login",
        "docs": "/docs",
        "password-forgot": "/password/forgot",
        "invitation": invitation,
    }
    for name, path in visitor_pages.items():
        visitor.goto(path)
        if name == "docs":
            visitor.wait_for_selector(".opblock")  # the reference is drawn after the page loads
        _check(site, visitor, name, problems)

    customer = site.new_page(PHONE)
    open_session = site.create_session(secret, description="A lamp")
    customer.goto(open_session["checkout_url"])
    _check(site, customer, "sandbox-pay", problems)
    customer.goto(paid["checkout_url"])
    _check(site, customer, "checkout-ended", problems)
    customer.goto("/checkout/ps_NoSuchSession")
    _check(site, customer, "checkout-not-found", problems)

    assert problems == {}


def test_screenshots_of_the_customer_pages_at_desktop_width(site):
    page, _ = site.signed_in(DESKTOP)
    app_id = site.create_application(page)
    secret = site.create_api_key(page, app_id)
    session = site.create_session(secret, description="A lamp")
    customer = site.new_page(DESKTOP)

    customer.goto(session["checkout_url"])
    site.screenshot(customer, "sandbox-pay")
    site.pay_by_card(customer, session)
    customer.goto(session["checkout_url"])

    assert customer.get_by_role("heading", name="This payment is already complete").is_visible()
    site.screenshot(customer, "checkout-ended")
