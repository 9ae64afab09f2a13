"""The hosted payment pages: what the customer sees, each test card's outcome, the buttons of
the other methods, cancel, and the notification each action leaves due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_support import RETURN_URL, act, create_checkout, open_page, page_path, pay, payment

from kadosei.models.base import utcnow
from kadosei.providers.registry import get_provider
from kadosei.sandbox.schemes import build_notification

SANDBOXES = ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"]


@pytest.mark.parametrize("name", SANDBOXES)
def test_card_page_is_branded_and_has_the_card_number_form_and_a_cancel_control(client, db, name):
    provider = get_provider(name)
    html, _ = open_page(client, create_checkout(db, provider, amount=123456, currency="EUR"))
    assert provider.display_name in html and f"sandbox-brand-{name}" in html
    assert "1,234.56 EUR" in html
    assert 'name="card_number"' in html and "Pay 1,234.56 EUR" in html
    assert "Cancel" in html and "/cancel" in html
    assert "Authorize" not in html


def test_amounts_show_in_the_currencys_own_minor_unit(client, db):
    lumen = get_provider("sandbox_lumen")
    assert "1,999 JPY" in open_page(client, create_checkout(db, lumen, currency="JPY"))[0]
    assert "1.999 KWD" in open_page(client, create_checkout(db, lumen, currency="KWD"))[0]


@pytest.mark.parametrize(
    ("name", "method"),
    [("sandbox_lumen", "ideal"), ("sandbox_harbor", "klarna"), ("sandbox_orbit", "paypal")],
)
def test_other_methods_show_authorize_and_fail_buttons(client, db, name, method):
    html, _ = open_page(client, create_checkout(db, get_provider(name), method=method))
    assert ">Authorize<" in html and ">Fail<" in html and "Cancel" in html
    assert 'name="card_number"' not in html


@pytest.mark.parametrize(
    ("card_number", "status", "code"),
    [
        ("4242424242424242", "succeeded", None),
        ("4000000000000002", "failed", "card_declined"),
        ("4000000000009995", "failed", "insufficient_funds"),
        ("4000000000000259", "processing", None),
        ("4242 4242 4242 4242", "succeeded", None),
        ("5555 5555 5555 4444", "succeeded", None),
    ],
)
@pytest.mark.parametrize("name", SANDBOXES)
def test_each_test_card_ends_as_the_contract_says_and_returns_the_customer(
    client, db, name, card_number, status, code
):
    result = create_checkout(db, get_provider(name))
    response = pay(client, result, card_number)
    assert response.status_code == 303
    assert response.headers["Location"] == RETURN_URL
    row = payment(db, result)
    assert (row.status, row.failure_code) == (status, code)
    assert row.card_last4 == card_number.replace(" ", "")[-4:]
    assert row.notification_due_at is not None and row.notified_at is None


@pytest.mark.parametrize("number", ["4242424242424241", "1234", "4242-abcd", "  "])
def test_an_invalid_card_number_shows_the_form_again_with_an_error(client, db, number):
    result = create_checkout(db, get_provider("sandbox_orbit"))
    response = pay(client, result, number)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and 'name="card_number"' in html
    row = payment(db, result)
    assert row.status == "pending" and row.notification_due_at is None


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("authorize", "succeeded", None),
        ("fail", "failed", "payment_declined"),
        ("cancel", "canceled", "canceled"),
    ],
)
def test_authorize_fail_and_cancel_end_a_bank_payment_and_return_the_customer(
    client, db, action, status, code
):
    result = create_checkout(db, get_provider("sandbox_harbor"), method="ideal")
    response = act(client, result, action)
    assert response.status_code == 303 and response.headers["Location"] == RETURN_URL
    row = payment(db, result)
    assert (row.status, row.failure_code) == (status, code)
    assert row.notification_due_at is not None


def test_cancel_on_a_card_page_ends_it_canceled(client, db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    response = act(client, result, "cancel")
    assert response.status_code == 303 and response.headers["Location"] == RETURN_URL
    assert payment(db, result).status == "canceled"


def test_authorize_does_not_apply_to_a_card_payment_nor_card_pay_to_ideal(client, db):
    card = create_checkout(db, get_provider("sandbox_lumen"))
    assert act(client, card, "authorize").status_code == 400
    ideal = create_checkout(db, get_provider("sandbox_lumen"), method="ideal")
    assert pay(client, ideal, "4242424242424242").status_code == 400
    assert payment(db, card).status == payment(db, ideal).status == "pending"


def test_a_post_without_the_csrf_token_changes_nothing(client, db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    open_page(client, result)
    response = client.post(page_path(result), data={"card_number": "4242424242424242"})
    assert response.status_code == 400
    for action in ("cancel", "authorize"):
        assert client.post(f"{page_path(result)}/{action}").status_code == 400
    assert payment(db, result).status == "pending"


def test_paying_twice_changes_nothing_the_second_time(client, db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    _, token = open_page(client, result)
    pay(client, result, "4000000000000002")
    html, no_token = open_page(client, result)
    assert "already failed" in html and no_token is None
    again = client.post(
        page_path(result), data={"csrf_token": token, "card_number": "4242424242424242"}
    )
    assert again.status_code == 303 and again.headers["Location"] == RETURN_URL
    assert payment(db, result).status == "failed"


def test_an_expired_checkout_cannot_be_paid(client, db):
    provider = get_provider("sandbox_orbit")
    _, token = open_page(client, create_checkout(db, provider))  # the browser's CSRF token
    result = create_checkout(db, provider, expires_at=utcnow() - timedelta(seconds=1))
    html, no_token = open_page(client, result)
    assert "expired" in html and no_token is None and 'name="card_number"' not in html
    response = client.post(
        page_path(result), data={"csrf_token": token, "card_number": "4242424242424242"}
    )
    assert response.status_code == 303
    assert payment(db, result).status == "pending"
    assert provider.get_status(result.provider_reference).status == "expired"


def test_unknown_payments_and_mismatched_providers_are_404(client, db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    assert client.get("/sandbox/sandbox_lumen/pay/sbx_nope").status_code == 404
    wrong = page_path(result).replace("sandbox_lumen", "sandbox_orbit")
    assert client.get(wrong).status_code == 404
    assert client.get(page_path(result).replace("sandbox_lumen", "stripe")).status_code == 404


@pytest.mark.parametrize("name", SANDBOXES)
def test_the_due_notification_reports_what_the_customer_did(client, db, name):
    provider = get_provider(name)
    result = create_checkout(db, provider)
    pay(client, result, "4000000000009995")
    reported = provider.parse_notification(*build_notification(payment(db, result)))
    assert reported.provider_reference == result.provider_reference
    assert (reported.status, reported.failure_code) == ("failed", "insufficient_funds")
