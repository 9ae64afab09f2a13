"""The management API for webhook endpoints (docs/api.md §3): shapes, validation, isolation,
modes."""

from __future__ import annotations

import base64

import pytest
import webhook_support
from webhook_support import Receiver

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from kadosei.models import WebhookDelivery

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app

BASE = "/api/v1/applications/{app_id}/webhook_endpoints"


@pytest.fixture
def owner(factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    return application, factories.jwt_headers(user)


def create(client, application, headers, **body):
    return client.post(BASE.format(app_id=application.id), json=body, headers=headers)


def test_create_returns_201_with_a_whsec_secret_of_32_random_bytes(client, owner):
    application, headers = owner
    response = create(client, application, headers, url="https://hooks.example.com/k", mode="live")
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("we_") and len(body["id"]) >= 27
    assert body["object"] == "webhook_endpoint"
    assert body["url"] == "https://hooks.example.com/k"
    assert body["mode"] == "live"
    assert body["events"] == [] and body["enabled"] is True
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["created_at"].endswith("Z")


def test_the_secret_is_only_in_the_create_response(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    endpoint_id = created.get_json()["id"]
    shown = client.get(f"{BASE.format(app_id=application.id)}/{endpoint_id}", headers=headers)
    listed = client.get(BASE.format(app_id=application.id), headers=headers)
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert listed.get_json()["object"] == "list"
    assert [e["id"] for e in listed.get_json()["data"]] == [endpoint_id]
    assert "secret" not in listed.get_json()["data"][0]


def test_list_is_newest_first_pages_without_gaps_and_filters_by_mode(client, owner):
    application, headers = owner
    ids = [
        create(
            client, application, headers, url=f"https://h{i}.example.com/", mode=mode
        ).get_json()["id"]
        for i, mode in enumerate(["test", "live", "test"])
    ]
    base = BASE.format(app_id=application.id)
    first = client.get(f"{base}?limit=2", headers=headers).get_json()
    assert [e["id"] for e in first["data"]] == [ids[2], ids[1]] and first["has_more"] is True
    rest = client.get(f"{base}?limit=2&starting_after={ids[1]}", headers=headers).get_json()
    assert [e["id"] for e in rest["data"]] == [ids[0]] and rest["has_more"] is False
    tests_only = client.get(f"{base}?mode=test", headers=headers).get_json()
    assert [e["id"] for e in tests_only["data"]] == [ids[2], ids[0]]
    assert client.get(f"{base}?mode=demo", headers=headers).status_code == 400


def test_events_filter_is_kept_without_repeats(client, owner):
    application, headers = owner
    events = ["payment_session.succeeded", "payment_session.failed", "payment_session.failed"]
    body = create(
        client, application, headers, url="https://x.example.com/", mode="live", events=events
    ).get_json()
    assert body["events"] == ["payment_session.succeeded", "payment_session.failed"]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"mode": "test"}, "parameter_missing", "url"),
        ({"url": "https://x.example.com/"}, "parameter_missing", "mode"),
        ({"url": "https://x.example.com/", "mode": "demo"}, "parameter_invalid", "mode"),
        ({"url": 42, "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "ftp://x.example.com/", "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "not a url", "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "https:///nohost", "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "https://u:p@x.example.com/", "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "https://x.example.com:99999/", "mode": "test"}, "parameter_invalid", "url"),
        ({"url": "https://x.example.com/", "mode": "test", "events": "all"}, "parameter_invalid",
         "events"),
        ({"url": "https://x.example.com/", "mode": "test", "events": ["payment.done"]},
         "parameter_invalid", "events"),
        ({"url": "https://x.example.com/", "mode": "test", "description": "d" * 501},
         "parameter_invalid", "description"),
        ({"url": "https://x.example.com/", "mode": "test", "secret": "whsec_x"},
         "parameter_unknown", "secret"),
    ],
)  # fmt: skip
def test_create_refuses_bad_input_with_a_400_and_writes_nothing(client, owner, body, code, param):
    application, headers = owner
    response = create(client, application, headers, **body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == (code, param)
    listed = client.get(BASE.format(app_id=application.id), headers=headers).get_json()
    assert listed["data"] == []


def test_create_needs_a_json_body(client, owner):
    application, headers = owner
    url = BASE.format(app_id=application.id)
    assert client.post(url, headers=headers).get_json()["error"]["code"] == "json_invalid"
    not_json = client.post(url, data="url=x", headers=headers, content_type="text/plain")
    assert not_json.status_code == 415


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("http://hooks.example.com/", "live"),
        ("https://127.0.0.1/", "live"),
        ("https://10.1.2.3/", "live"),
        ("https://172.16.0.9/", "live"),
        ("https://192.168.1.1/", "live"),
        ("https://100.64.0.1/", "live"),
        ("https://169.254.169.254/latest/meta-data/", "live"),
        ("https://[::1]/", "live"),
        ("https://[::ffff:127.0.0.1]/", "live"),
        ("https://[::ffff:10.0.0.1]/", "live"),
        ("https://[fd00::1]/", "live"),
        ("https://[fe80::1]/", "live"),
        ("https://0.0.0.0/", "live"),
        ("https://224.0.0.1/", "live"),
        ("https://localhost/", "live"),
        ("https://2130706433/", "live"),
        ("http://127.0.0.1:8080/", "test"),
        ("http://localhost:8080/", "test"),
        ("http://10.0.0.7/", "test"),
        ("http://169.254.169.254/", "test"),
    ],
)
def test_ssrf_refusals_are_400_parameter_invalid_on_url(client, owner, url, mode):
    application, headers = owner
    response = create(client, application, headers, url=url, mode=mode)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("parameter_invalid", "url")


def test_allow_private_opens_loopback_to_test_mode_only(client, owner, webhook_app):
    application, headers = owner
    test_mode = create(client, application, headers, url="http://127.0.0.1:9/h", mode="test")
    local_name = create(client, application, headers, url="http://localhost:9/h", mode="test")
    assert test_mode.status_code == 201 and local_name.status_code == 201
    for url in ("https://127.0.0.1/h", "https://localhost/h", "https://10.0.0.1/h"):
        live = create(client, application, headers, url=url, mode="live")
        assert live.status_code == 400 and live.get_json()["error"]["param"] == "url"
    metadata = create(client, application, headers, url="http://169.254.169.254/", mode="test")
    assert metadata.status_code == 400


def test_public_addresses_are_accepted_in_live_mode(client, owner):
    application, headers = owner
    for url in ("https://93.184.215.14/hook", "https://[2606:4700::1111]/hook"):
        assert create(client, application, headers, url=url, mode="live").status_code == 201


def test_patch_changes_url_events_enabled_description(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    url = f"{BASE.format(app_id=application.id)}/{created.get_json()['id']}"
    patch = {
        "url": "https://b.example.com/new",
        "events": ["payment_session.canceled"],
        "enabled": False,
        "description": "orders",
    }
    body = client.patch(url, json=patch, headers=headers).get_json()
    assert body["url"] == "https://b.example.com/new"
    assert body["events"] == ["payment_session.canceled"]
    assert body["enabled"] is False and body["description"] == "orders"
    assert client.get(url, headers=headers).get_json()["enabled"] is False
    again = client.patch(url, json={"enabled": True}, headers=headers).get_json()
    assert again["enabled"] is True and again["disabled_reason"] is None


@pytest.mark.parametrize(
    ("patch", "code", "param"),
    [
        ({"url": "http://b.example.com/"}, "parameter_invalid", "url"),
        ({"url": "https://127.0.0.1/"}, "parameter_invalid", "url"),
        ({"enabled": "no"}, "parameter_invalid", "enabled"),
        ({"enabled": None}, "parameter_invalid", "enabled"),
        ({"events": ["nope"]}, "parameter_invalid", "events"),
        ({"mode": "test"}, "parameter_unknown", "mode"),
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(client, owner, patch, code, param):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    url = f"{BASE.format(app_id=application.id)}/{created.get_json()['id']}"
    response = client.patch(url, json=patch, headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    unchanged = client.get(url, headers=headers).get_json()
    assert unchanged["url"] == "https://a.example.com/" and unchanged["enabled"] is True


def test_delete_removes_the_endpoint(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    endpoint_id = created.get_json()["id"]
    url = f"{BASE.format(app_id=application.id)}/{endpoint_id}"
    deleted = client.delete(url, headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json() == {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
    assert client.get(url, headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404
    listed = client.get(BASE.format(app_id=application.id), headers=headers).get_json()
    assert listed["data"] == []


def test_another_merchants_endpoint_is_404_for_every_call(client, factories, owner):
    application, headers = owner
    other_merchant, other_user = factories.make_merchant()
    other_app = factories.make_application(other_merchant)
    other_headers = factories.jwt_headers(other_user)
    other = create(
        client, other_app, other_headers, url="https://o.example.com/", mode="live"
    ).get_json()
    theirs = f"{BASE.format(app_id=other_app.id)}/{other['id']}"
    mine_path = f"{BASE.format(app_id=application.id)}/{other['id']}"
    for path in (theirs, mine_path):
        assert client.get(path, headers=headers).status_code == 404
        assert client.patch(path, json={"enabled": False}, headers=headers).status_code == 404
        assert client.delete(path, headers=headers).status_code == 404
        assert client.post(f"{path}/test", headers=headers).status_code == 404
        error = client.get(path, headers=headers).get_json()["error"]
        assert error["code"] == "resource_missing"
    listing = client.get(BASE.format(app_id=other_app.id), headers=headers)
    assert listing.status_code == 404


def test_api_keys_and_missing_tokens_are_refused(client, factories, owner):
    application, _ = owner
    _, secret = factories.make_api_key(application)
    url = BASE.format(app_id=application.id)
    assert client.get(url).status_code == 401
    assert client.get(url, headers=factories.key_headers(secret)).status_code == 401


def test_post_test_sends_webhook_test_to_that_endpoint_only(
    client, factories, webhook_app, receiver
):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    headers = factories.jwt_headers(user)
    other_receiver = Receiver()
    try:
        filtered = create(
            client, application, headers, url=receiver.url, mode="test",
            events=["payment_session.failed"],
        ).get_json()  # fmt: skip
        create(client, application, headers, url=other_receiver.url, mode="test")
        url = f"{BASE.format(app_id=application.id)}/{filtered['id']}/test"
        response = client.post(url, headers=headers)
        assert response.status_code == 201
        event = response.get_json()
        assert event["type"] == "webhook.test" and event["id"].startswith("evt_")
        assert event["data"]["object"]["id"] == filtered["id"]
        deliveries = WebhookDelivery.query.all()
        assert [(d.endpoint_id, d.event_type) for d in deliveries] == [
            (filtered["id"], "webhook.test")
        ]
        AppWorker([get_queue()], connection=redis_connection()).work(burst=True)
        (request,) = receiver.wait_for(1)
        payload = request.verify(filtered["secret"])
        assert payload["id"] == event["id"] and payload["type"] == "webhook.test"
        assert other_receiver.received == []
    finally:
        other_receiver.close()


def test_post_test_refuses_a_body_with_fields(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    url = f"{BASE.format(app_id=application.id)}/{created.get_json()['id']}/test"
    response = client.post(url, json={"type": "payment_session.succeeded"}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "parameter_unknown"


def test_rotate_secret_returns_a_new_secret(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    body = created.get_json()
    url = f"{BASE.format(app_id=application.id)}/{body['id']}/rotate_secret"
    rotated = client.post(url, headers=headers)
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"].startswith("whsec_")
    assert rotated.get_json()["secret"] != body["secret"]


def test_delivery_log_api_filters_by_status_and_event_type(client, owner):
    application, headers = owner
    created = create(client, application, headers, url="https://a.example.com/", mode="live")
    base = f"{BASE.format(app_id=application.id)}/{created.get_json()['id']}/deliveries"
    assert client.get(base, headers=headers).get_json()["data"] == []
    assert client.get(f"{base}?status=done", headers=headers).status_code == 400
    assert client.get(f"{base}?event_type=x", headers=headers).status_code == 400
    assert client.get(f"{base}?status=pending", headers=headers).status_code == 200
