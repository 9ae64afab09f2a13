"""Teammates and the account's safety in a real browser: an owner invites a viewer (who sees
everything and changes nothing) and a developer (who can make keys), a forgotten password is
reset from the mailed link, two-factor is turned on and asked for at the next log-in."""

from __future__ import annotations

import csv
import io
import re
import time

import pyotp
from browser_support import PASSWORD, PHONE, Account, page_problems

NEW_PASSWORD = "a much longer new passphrase"


def _endpoint(site, page, app_id: str) -> str:
    page.goto(f"/applications/{app_id}/webhooks")
    page.get_by_label("Endpoint URL").fill(f"{site.url}/shop/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url(re.compile(r"/webhooks/we_\w+$"))
    return page.url.removeprefix(site.url)


def test_an_invited_viewer_finds_a_payment_on_a_phone_and_can_change_nothing(site):
    # The merchant's owner: an application, a key, a webhook endpoint and a paid payment.
    owner, _ = site.signed_in()
    app_id = site.create_application(owner)
    secret = site.create_api_key(owner, app_id)
    endpoint = _endpoint(site, owner, app_id)
    paid = site.create_session(secret, customer_email="ada@example.org", reference="order-7")
    site.create_session(secret, customer_email="someone.else@example.org")
    site.pay_by_card(site.new_page(PHONE), paid)
    link = site.invite(owner, "vera@example.org", "viewer")
    assert link.startswith(f"{site.url}/invitations/")
    owner.reload()
    assert "vera@example.org" in owner.locator("table").nth(1).inner_text()

    # The viewer joins from the link, on a phone, and later logs in with the password set.
    viewer, vera = site.accept_invitation(link, "vera@example.org", PHONE, name="Vera")
    assert page_problems(viewer) == []
    site.logout(viewer)
    viewer.goto(link)
    assert viewer.get_by_role("heading", name="This invitation cannot be used").is_visible()
    site.login(viewer, vera)

    # Finds the customer's payment by e-mail, on the phone.
    viewer.goto("/payments")
    viewer.get_by_label("Customer e-mail").fill("ada@example.org")
    viewer.get_by_role("button", name="Search").click()
    viewer.wait_for_url(re.compile(r"/payments\?.*email=ada"))
    rows = viewer.locator("table tbody tr")
    assert rows.count() == 1
    rows.first.get_by_role("link").first.click()
    viewer.wait_for_url(f"**/payments/{paid['id']}")
    # Why its provider was chosen, in one sentence.
    sentence = viewer.locator(".routing-decision .routing-sentence").first
    assert re.match(r"Sent to \S.*\.$", sentence.inner_text().strip())
    assert page_problems(viewer) == []
    site.screenshot(viewer, "viewer-payment")

    # Exports the payments (reading is allowed).
    viewer.goto("/payments")
    with viewer.expect_download() as download:
        viewer.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert paid["id"] in [row["id"] for row in exported]

    # And changes nothing: no form is offered, and a hand-made POST is refused.
    viewer.goto(f"/applications/{app_id}")
    assert viewer.get_by_role("button", name="Create API key").count() == 0
    refused = site.post_form(viewer, f"/applications/{app_id}/api_keys", {"mode": "test"})
    assert refused.status == 403
    assert "Your role does not allow this" in refused.text()
    viewer.goto(endpoint)
    assert viewer.get_by_role("button", name="Reveal").count() == 0
    assert viewer.get_by_role("button", name="Rotate secret").count() == 0
    refused = site.post_form(viewer, f"{endpoint}/secret")
    assert refused.status == 403
    assert "whsec_" not in refused.text()
    viewer.goto("/team")
    assert viewer.get_by_role("button", name="Create invitation link").count() == 0
    # The owner's application still has its one key.
    owner.goto(f"/applications/{app_id}")
    assert owner.locator("table tbody tr").count() == 1


def test_an_invited_developer_creates_an_api_key(site):
    owner, _ = site.signed_in()
    app_id = site.create_application(owner)
    link = site.invite(owner, "dev@example.org", "developer")

    developer, dev = site.accept_invitation(link, "dev@example.org", name="Devi")
    site.logout(developer)
    site.login(developer, dev)
    secret = site.create_api_key(developer, app_id)

    assert secret.startswith("ks_test_")
    owner.goto("/team")
    members = owner.locator("table").first.inner_text()
    assert "Devi" in members and "dev@example.org" in members


def test_a_forgotten_password_is_reset_from_the_mailed_link(site):
    account = site.signup()
    page = site.new_page(PHONE)
    page.goto("/login")

    page.locator("#forgot-password").click()
    page.wait_for_url("**/password/forgot")
    assert page_problems(page) == []
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_role("button", name="Send the link").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("we have sent it a link").is_visible()

    mails = [text for text in site.run_jobs() if account.email in text]
    assert len(mails) == 1
    link = re.search(r"https?://\S+/password/reset/\S+", mails[0]).group(0)
    page.goto(link)
    assert page_problems(page) == []
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    page.wait_for_url("**/login")

    site.login(page, Account(shop=account.shop, email=account.email, password=NEW_PASSWORD))
    assert page.get_by_text(account.email).is_visible()
    site.logout(page)
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Invalid e-mail or password.").is_visible()
    page.goto(link)  # the link worked once
    assert page.get_by_role("button", name="Save the new password").count() == 0


def test_two_factor_is_turned_on_and_asked_for_at_the_next_log_in(site):
    page, account = site.signed_in(PHONE)
    refused = []  # what the Content-Security-Policy blocked (the QR code is a data: image)
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    page.goto("/settings/two-factor")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    page.wait_for_url("**/settings/two-factor")
    secret = page.locator("#totp-secret").inner_text().strip()
    assert page.locator("#totp-uri").inner_text().startswith("otpauth://totp/")
    qr = page.get_by_role("img", name="QR code of the setup link")
    assert qr.is_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert refused == []
    assert page_problems(page) == []
    totp = pyotp.TOTP(secret)

    used = totp.now()
    page.get_by_label("Code from your authenticator app").fill(used)
    page.get_by_role("button", name="Turn on two-factor").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert page_problems(page) == []
    site.logout(page)

    # The password alone no longer opens the portal.
    site.login(page, account)
    page.wait_for_url("**/login/two-factor")
    assert page_problems(page) == []
    page.goto("/payments")
    page.wait_for_url(re.compile(r"/login"))
    page.goto("/login/two-factor")
    # The code just used is refused; the next step's (one step of drift allowed) is not.
    page.locator("#otp").fill(used)
    page.get_by_role("button", name="Verify").click()
    page.locator("small.error").first.wait_for()  # refused, with a reason
    assert "/login/two-factor" in page.url
    page.locator("#otp").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/login" not in url)
    assert page.get_by_text(account.email).is_visible()

    # A recovery code works once instead of the app's code.
    site.logout(page)
    site.login(page, account)
    page.locator("#otp").fill(codes[0].strip())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/settings/two-factor")
    assert page.get_by_text("9 recovery codes left").is_visible()
    assert page_problems(page) == []
