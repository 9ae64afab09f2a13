"""Reading sessions and events (docs/api.md §2 Lists, §4): newest first, paging, filters, and
tenant and mode isolation (another's object is 404 resource_missing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from payments_support import MerchantApi

from kadosei.models import PaymentSession
from kadosei.models.base import utcnow


def _other_mode_session(application) -> str:
    """A live-mode session of the same application (no live provider exists to create one)."""
    from kadosei.extensions import db

    now = utcnow()
    row = PaymentSession(
        merchant_id=application.merchant_id, application_id=application.id, mode="live",
        status="open", amount=100, currency="EUR", payment_method="card",
        success_url="https://a.example", cancel_url="https://a.example",
        created_at=now, updated_at=now, expires_at=now + timedelta(hours=1), metadata_={},
    )  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return row.id


def test_list_is_newest_first_and_pages_without_gaps_or_repeats(merchant):
    created = [merchant.create_session(reference=f"r{i}")["id"] for i in range(5)]

    seen, after = [], None
    while True:
        params = {"limit": "2", **({"starting_after": after} if after else {})}
        page = merchant.get("/payment_sessions", **params).json
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]

    assert page["object"] == "list"
    assert seen == list(reversed(created))


def test_list_filters_by_status_and_reference(merchant):
    kept = merchant.create_session(reference="order-1")
    merchant.create_session(reference="order-2")
    merchant.post(f"/payment_sessions/{kept['id']}/cancel")

    by_status = merchant.get("/payment_sessions", status="canceled").json["data"]
    by_reference = merchant.get("/payment_sessions", reference="order-2").json["data"]

    assert [s["id"] for s in by_status] == [kept["id"]]
    assert [s["reference"] for s in by_reference] == ["order-2"]


@pytest.mark.parametrize(
    ("params", "param"),
    [({"status": "paid"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit")],
)
def test_bad_list_parameters_are_400(merchant, params, param):
    response = merchant.get("/payment_sessions", **params)

    assert response.status_code == 400
    assert response.json["error"]["param"] == param


def test_another_applications_sessions_and_events_are_invisible(client, factories, merchant):
    session = merchant.create_session()
    merchant.post(f"/payment_sessions/{session['id']}/cancel")
    event_id = merchant.get("/events").json["data"][0]["id"]
    other_app = factories.make_application(name="Other shop")
    other = MerchantApi(client, factories.make_api_key(other_app, "test")[1])

    assert other.get(f"/payment_sessions/{session['id']}").status_code == 404
    assert other.post(f"/payment_sessions/{session['id']}/cancel").status_code == 404
    assert other.get(f"/events/{event_id}").status_code == 404
    assert other.get("/payment_sessions").json["data"] == []
    assert other.get("/events").json["data"] == []
    missing = other.get("/payment_sessions", starting_after=session["id"])
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "resource_missing"


def test_the_other_modes_sessions_are_invisible(merchant, test_key):
    application, _ = test_key
    live_id = _other_mode_session(application)

    response = merchant.get(f"/payment_sessions/{live_id}")

    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"
    assert merchant.get("/payment_sessions").json["data"] == []


def test_events_are_listed_and_read_by_id(merchant):
    session = merchant.create_session()
    merchant.post(f"/payment_sessions/{session['id']}/cancel")

    listed = merchant.get("/events").json
    event = merchant.get(f"/events/{listed['data'][0]['id']}").json

    assert listed["object"] == "list" and listed["has_more"] is False
    assert event["type"] == "payment_session.canceled" and event["mode"] == "test"
    assert event["id"].startswith("evt_") and event["created_at"].endswith("Z")
    assert event["data"]["object"]["id"] == session["id"]
    assert event["data"]["object"]["status"] == "canceled"
    assert merchant.get("/events", type="nonsense").status_code == 400
    assert merchant.get("/events/evt_unknown").status_code == 404


def test_a_live_key_without_live_providers_gets_422(client, factories):
    application = factories.make_application()
    live = MerchantApi(client, factories.make_api_key(application, "live")[1])

    response = live.create()

    assert response.status_code == 422
    assert response.json["error"]["code"] == "no_provider_available"


def test_payment_calls_need_an_api_key(client):
    response = client.get("/api/v1/payment_sessions")

    assert response.status_code == 401
    assert response.json["error"]["code"] == "missing_credentials"
