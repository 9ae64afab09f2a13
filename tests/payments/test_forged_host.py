"""No request chooses kadosei's host (API.md §5): a forged ``Host`` or ``X-Forwarded-Host``, even
through a trusted proxy, never changes a checkout URL, the provider page a customer is sent to,
the provider's return address, or an HTTPS redirect."""

from __future__ import annotations

import pytest
from payments_support import csrf_token, path_of

from kadosei.config import LOCAL_PUBLIC_URL
from kadosei.sandbox.models import SandboxPayment

SUCCESS = "https://shop.example/thanks"
FORGED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
FORGED_BASE = "http://attacker.example"  # the Host header the request arrives with


@pytest.fixture(params=["https://kadosei.test", None], ids=["public-url", "no-public-url"])
def app_config(request, redis_url, redis_client) -> dict:
    """Behind one trusted proxy; with KADOSEI_PUBLIC_URL, and without it (tests, development)."""
    return {
        "REDIS_URL": redis_url,
        "SANDBOX_PROCESSING_SECONDS": 0,
        "KADOSEI_PROXY_COUNT": 1,
        "KADOSEI_PUBLIC_URL": request.param,
    }


@pytest.fixture
def public(app_config) -> str:
    return app_config["KADOSEI_PUBLIC_URL"] or LOCAL_PUBLIC_URL


def forged(client, method: str, path: str, **kwargs):
    headers = {**FORGED, **kwargs.pop("headers", {})}
    return client.open(path, method=method, base_url=FORGED_BASE, headers=headers, **kwargs)


def test_a_forged_host_never_changes_where_the_customer_is_sent(
    merchant, customer, public, test_key
):
    created = forged(
        merchant.client,
        "POST",
        "/api/v1/payment_sessions",
        json={
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": SUCCESS,
            "cancel_url": "https://shop.example/cart",
        },
        headers={"Authorization": f"Bearer {test_key[1]}"},
    )
    assert created.status_code == 201, created.json
    session = created.json
    assert session["checkout_url"] == f"{public}/checkout/{session['id']}"

    to_provider = forged(customer.client, "GET", path_of(session["checkout_url"]))
    assert to_provider.status_code == 303
    hosted = to_provider.headers["Location"]
    assert hosted.startswith(f"{public}/sandbox/sandbox_")

    payment = SandboxPayment.query.filter_by(session_id=session["id"]).one()
    assert payment.return_url.startswith(f"{public}/checkout/{session['id']}/return?attempt=")
    page = forged(customer.client, "GET", path_of(hosted))
    assert page.status_code == 200
    paid = forged(
        customer.client,
        "POST",
        path_of(hosted),
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "card_number": "4242424242424242",
        },
        headers={"Referer": f"{FORGED_BASE.replace('http', 'https')}/"},
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == payment.return_url

    back = forged(customer.client, "GET", path_of(paid.headers["Location"]))
    assert back.status_code == 303
    assert back.headers["Location"].startswith(SUCCESS)


def test_a_plain_http_redirect_goes_to_the_public_host_not_the_requests(app, public):
    client = app.test_client()
    host = public.split("://", 1)[1]

    for headers in ({}, {"X-Forwarded-Host": "evil.example"}):
        response = client.get(
            "/login?next=/x",
            base_url=FORGED_BASE,
            headers=headers,
            environ_base={"REMOTE_ADDR": "203.0.113.5"},
        )
        assert response.status_code == 301
        assert response.headers["Location"] == f"https://{host}/login?next=/x"
