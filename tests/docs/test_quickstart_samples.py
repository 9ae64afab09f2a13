"""The quickstart's samples work as written: its curl commands are run against kadosei, its
test cards do what the page says, and its Python receiver verifies the webhooks kadosei
signs. (The Node receiver mirrors it line for line; CI has no Node packages to run it.)"""

from __future__ import annotations

import json
import re

import pytest
from docs_support import (
    code_sample,
    exported_names,
    parse_curl,
    pay_by_card,
    run_jobs,
    serving,
)

from tests.factories import PASSWORD
from tests.foundation.foundation_support import Portal

BASE_URL = "https://kadosei.test"  # KADOSEI_PUBLIC_URL of the test app


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    """A real queue; delayed sandbox cards complete at once; webhooks may reach 127.0.0.1."""
    return {
        "REDIS_URL": redis_url,
        "SANDBOX_PROCESSING_SECONDS": 0,
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True,
        "KADOSEI_WEBHOOK_TIMEOUT": 5.0,
    }


@pytest.fixture
def merchant_page(client, factories):
    """The quickstart as a logged-in merchant with one application sees it: (page, app, user)."""
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant, name="Web store")
    assert Portal(client).login(user.email, PASSWORD).status_code == 302
    page = client.get("/docs/quickstart").get_data(as_text=True)
    return page, application, user


def python_receiver(page: str, monkeypatch, secret: str):
    """Run the page's Python sample as a merchant would; returns (its Flask app, the sessions
    it fulfilled)."""
    monkeypatch.setenv("KADOSEI_WEBHOOK_SECRET", secret)
    namespace: dict = {"__name__": "quickstart_receiver"}
    exec(compile(code_sample(page, "sample-verify-python"), "quickstart.py", "exec"), namespace)
    fulfilled: list[dict] = []
    namespace["fulfil_order"] = fulfilled.append  # the merchant's own code, not kadosei's
    return namespace["app"], fulfilled


def test_a_newcomer_follows_the_quickstart_from_key_to_verified_webhook(
    client, merchant_page, monkeypatch
):
    page, application, user = merchant_page
    variables: dict[str, str] = {}

    # 1. Log in to the management API and create a test key, as the samples say.
    login = parse_curl(code_sample(page, "sample-login"), variables)
    assert login.url == f"{BASE_URL}/api/v1/auth/login"
    login.body = login.body.replace("YOUR_PASSWORD", PASSWORD)
    assert json.loads(login.body)["email"] == user.email
    answer = login.send(client)
    assert answer.status_code == 200, answer.get_json()
    create_key_sample = code_sample(page, "sample-create-key")
    assert exported_names(create_key_sample) == ["ACCESS_TOKEN"]
    variables["ACCESS_TOKEN"] = answer.get_json()["access_token"]
    create_key = parse_curl(create_key_sample, variables)
    assert create_key.url == f"{BASE_URL}/api/v1/applications/{application.id}/api_keys"
    answer = create_key.send(client)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["key"].startswith("ks_test_")

    # 4 (set up first). A webhook endpoint pointing at the page's Python receiver.
    endpoint_sample = code_sample(page, "sample-create-endpoint")
    create_endpoint = parse_curl(endpoint_sample, variables)
    assert create_endpoint.url.endswith(f"/applications/{application.id}/webhook_endpoints")
    assert json.loads(create_endpoint.body)["url"] == "https://shop.example/webhooks/kadosei"

    receiver_app, fulfilled = None, []

    def receiver(environ, start_response):  # its secret is known once the endpoint exists
        return receiver_app(environ, start_response)

    with serving(receiver) as receiver_url:
        body = json.loads(create_endpoint.body)
        body["url"] = f"{receiver_url}/webhooks/kadosei"
        create_endpoint.body = json.dumps(body)
        answer = create_endpoint.send(client)
        assert answer.status_code == 201, answer.get_json()
        receiver_app, fulfilled = python_receiver(page, monkeypatch, answer.get_json()["secret"])

        # 2. Create a payment session with the key, as the sample does.
        session_sample = code_sample(page, "sample-create-session")
        assert exported_names(session_sample) == ["KADOSEI_API_KEY"]
        variables["KADOSEI_API_KEY"] = create_key.send(client).get_json()["key"]
        create_session = parse_curl(session_sample, variables)
        assert create_session.url == f"{BASE_URL}/api/v1/payment_sessions"
        answer = create_session.send(client)
        assert answer.status_code == 201, answer.get_json()
        session = answer.get_json()
        shown = code_sample(page, "sample-session-answer")
        for name in ("id", "object", "status", "mode", "amount", "currency", "checkout_url"):
            assert f'"{name}": ' in shown and name in session
        assert session["status"] == "open" and session["reference"] == "order-1001"
        assert session["checkout_url"].startswith(f"{BASE_URL}/checkout/ps_")
        again = create_session.send(client)  # the same Idempotency-Key: the same session
        assert again.get_json()["id"] == session["id"]

        # 3. Pay on the sandbox with the card the page says succeeds.
        sent_to = pay_by_card(client, session["checkout_url"], "4242424242424242")
        assert sent_to.startswith("https://shop.example/thanks?session_id=ps_")
        run_jobs()  # the provider's notification, then the webhook delivery it causes

        get_session = parse_curl(code_sample(page, "sample-get-session"), variables)
        get_session.url = get_session.url.replace("ps_…", session["id"])
        assert get_session.send(client).get_json()["status"] == "succeeded"

    # 4. The page's receiver verified kadosei's signed webhook and fulfilled the order.
    assert [paid["id"] for paid in fulfilled] == [session["id"]]
    assert fulfilled[0]["reference"] == "order-1001" and fulfilled[0]["amount"] == 1999


def test_the_python_receiver_refuses_what_kadosei_did_not_sign(client, merchant_page, monkeypatch):
    from kadosei.webhooks.signing import new_secret, signed_headers

    page, _, _ = merchant_page
    secret = new_secret()
    receiver_app, fulfilled = python_receiver(page, monkeypatch, secret)
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment_session.succeeded",
            "created_at": "2026-01-01T00:00:00Z",
            "mode": "test",
            "data": {"object": {"id": "ps_1", "reference": "order-1001", "amount": 1999}},
        },
        separators=(",", ":"),
    )
    headers = signed_headers("evt_1", body, [secret])
    browser = receiver_app.test_client()

    tampered = browser.post("/webhooks/kadosei", data=body.replace("1999", "1"), headers=headers)
    wrong_key = browser.post(
        "/webhooks/kadosei", data=body, headers=signed_headers("evt_1", body, [new_secret()])
    )
    unsigned = browser.post("/webhooks/kadosei", data=body)
    rotated = browser.post(  # during a secret rotation a message carries two signatures
        "/webhooks/kadosei",
        data=body,
        headers=signed_headers("evt_1", body, [new_secret(), secret]),
    )

    assert [tampered.status_code, wrong_key.status_code, unsigned.status_code] == [400] * 3
    assert rotated.status_code == 204
    assert [paid["id"] for paid in fulfilled] == ["ps_1"]


def test_the_test_cards_on_the_quickstart_do_what_it_says(client, factories, merchant_page):
    page, application, _ = merchant_page
    _, secret = factories.make_api_key(application, "test")
    rows = re.findall(r"<tr (data-card=[^>]*)>", page)
    assert len(rows) == 4
    for row in rows:
        card = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', row))
        variables = {"KADOSEI_API_KEY": secret}
        create = parse_curl(code_sample(page, "sample-create-session"), variables)
        create.headers["Idempotency-Key"] = f"card-{card['card']}"
        session = create.send(client).get_json()

        pay_by_card(client, session["checkout_url"], card["card"])
        status_now = client.get(
            f"/api/v1/payment_sessions/{session['id']}",
            headers={"Authorization": f"Bearer {secret}"},
        ).get_json()["status"]
        run_jobs()
        after = client.get(
            f"/api/v1/payment_sessions/{session['id']}",
            headers={"Authorization": f"Bearer {secret}"},
        ).get_json()

        assert after["status"] == card["status"], (card, after)
        if "first-status" in card:
            assert status_now == card["first-status"], (card, status_now)
        if "failure" in card:
            assert after["failure"]["code"] == card["failure"], (card, after)
        else:
            assert after["failure"] is None, (card, after)
        if "last-failure" in card:  # declined, attempts left (docs/api.md §5)
            assert after["last_failure"]["code"] == card["last-failure"], (card, after)
