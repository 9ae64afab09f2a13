"""A merchant in a real browser: sign up, an application and its key (shown once), a webhook
endpoint (a reload never posts twice), a payment found by e-mail on a phone, a CSV export."""

from __future__ import annotations

import csv
import io
import re

from browser_support import PHONE, page_problems


def test_signing_up_then_logging_in_opens_the_portal(site):
    page = site.new_page(PHONE)

    account = site.signup(page)

    assert page.get_by_role("status").filter(has_text="Thank you for signing up").is_visible()
    site.login(page, account)
    assert page.get_by_role("heading", name="Applications").is_visible()
    assert page.get_by_text(account.email).is_visible()
    assert page_problems(page) == []


def test_a_new_api_key_is_shown_once_and_gone_after_a_reload(site):
    page, _ = site.signed_in()
    app_id = site.create_application(page)

    secret = site.create_api_key(page, app_id)

    assert secret.startswith("ks_test_")
    assert page.get_by_text("this is the only time the key is shown").is_visible()
    site.screenshot(page, "key-created")
    page.reload()
    assert re.search(rf"/applications/{app_id}$", page.url)
    assert secret not in page.content()
    assert page.get_by_text("cannot be again").is_visible()
    # One key, though the page that showed it was reloaded.
    assert page.locator("table tbody tr").count() == 1


def test_a_new_webhook_endpoint_shows_its_secret_once_and_a_reload_posts_nothing(site):
    page, _ = site.signed_in()
    app_id = site.create_application(page)
    page.goto(f"/applications/{app_id}/webhooks")
    hook = f"{site.url}/shop/hooks"

    page.get_by_label("Endpoint URL").fill(hook)
    page.get_by_label("payment_session.succeeded").check()
    page.get_by_role("button", name="Add endpoint").click()

    page.wait_for_url(re.compile(r"/webhooks/we_\w+$"))
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    page.reload()
    assert secret not in page.content()
    assert page.get_by_role("button", name="Reveal").is_visible()
    page.goto(f"/applications/{app_id}/webhooks")
    assert page.get_by_role("link", name=hook).count() == 1


def test_a_customer_payment_is_found_by_e_mail_on_a_phone_and_exported(site):
    page, _ = site.signed_in(PHONE)
    app_id = site.create_application(page)
    secret = site.create_api_key(page, app_id)
    paid = site.create_session(secret, customer_email="ada@example.org", reference="order-7")
    site.create_session(secret, customer_email="someone.else@example.org")
    site.pay_by_card(site.new_page(PHONE), paid)

    page.goto("/payments")
    page.get_by_label("Customer e-mail").fill("ada@example.org")
    page.get_by_role("button", name="Search").click()

    page.wait_for_url(re.compile(r"/payments\?.*email=ada"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert paid["id"] in rows.first.inner_text()
    assert page_problems(page) == []
    site.screenshot(page, "payments-search")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert download.value.suggested_filename.endswith(".csv")
    assert [row["id"] for row in exported] == [paid["id"]]
    assert exported[0]["status"] == "succeeded"
    assert exported[0]["customer_email"] == "ada@example.org"


def test_logging_in_works_from_the_keyboard_in_reading_order(site):
    account = site.signup()
    page = site.new_page(PHONE)
    page.goto("/login")
    focused = "() => document.activeElement.name || document.activeElement.innerText.trim()"

    assert page.evaluate(focused) == "email"  # the form has the focus at once
    page.keyboard.type(account.email)
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "password"
    page.keyboard.type(account.password)
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "Log in"
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/$"))
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
