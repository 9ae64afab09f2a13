"""Shared steps for the sandbox provider tests: a checkout created through the adapter and the
hosted page driven like a customer's browser."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from kadosei.models.base import new_id, utcnow
from kadosei.providers.base import CheckoutRequest, CheckoutResult, Provider
from kadosei.sandbox.models import SandboxPayment

RETURN_URL = "https://kadosei.test/checkout/return/pa_test"
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def checkout_request(
    method: str = "card", currency: str = "EUR", amount: int = 1999, mode: str = "test", **kw
) -> CheckoutRequest:
    return CheckoutRequest(
        attempt_id=new_id("pa"),
        session_id=new_id("ps"),
        mode=mode,
        amount=amount,
        currency=currency,
        payment_method=method,
        return_url=kw.pop("return_url", RETURN_URL),
        expires_at=kw.pop("expires_at", utcnow() + timedelta(hours=1)),
        **kw,
    )


def create_checkout(db, provider: Provider, **kw) -> CheckoutResult:
    """Create a checkout as the payment service would, and commit its transaction."""
    result = provider.create_checkout(checkout_request(**kw))
    db.session.commit()
    return result


def page_path(result: CheckoutResult) -> str:
    return urlsplit(result.hosted_url).path


def open_page(client, result: CheckoutResult) -> tuple[str, str | None]:
    """The page's HTML and its CSRF token (``None`` on a page with no form left)."""
    response = client.get(page_path(result))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = _CSRF.search(html)
    return html, match.group(1) if match else None


def pay(client, result: CheckoutResult, card_number: str):
    _, token = open_page(client, result)
    return client.post(page_path(result), data={"csrf_token": token, "card_number": card_number})


def act(client, result: CheckoutResult, action: str):
    """Press Authorize, Fail or Cancel on the hosted page."""
    _, token = open_page(client, result)
    return client.post(f"{page_path(result)}/{action}", data={"csrf_token": token})


def payment(db, result: CheckoutResult) -> SandboxPayment:
    db.session.expire_all()
    return db.session.scalar(
        db.select(SandboxPayment).where(SandboxPayment.id == result.provider_reference)
    )
