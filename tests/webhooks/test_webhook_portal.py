"""The portal's webhook pages (docs/api.md §8): add an endpoint, reveal and rotate its secret,
enable/disable, send a test event, read the delivery log with filters and each try, resend."""

from __future__ import annotations

import re

import webhook_support
from sqlalchemy import select
from webhook_support import emit, make_endpoint

from kadosei.extensions import db
from kadosei.models import WebhookDelivery, WebhookEndpoint
from kadosei.webhooks.delivery import deliver_webhook
from tests.factories import PASSWORD

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def token(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def signed_in(client, user):
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token(client, "/login")}
    assert client.post("/login", data=form).status_code in (302, 303)
    return client


def post(client, path: str, data=None, *, token_from: str):
    return client.post(path, data={**(data or {}), "csrf_token": token(client, token_from)})


def base(application) -> str:
    return f"/applications/{application.id}/webhooks"


def test_the_application_page_links_to_its_webhooks(webhook_app, client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    page = signed_in(client, user).get(f"/applications/{application.id}").get_data(as_text=True)
    assert f'href="{base(application)}"' in page


def test_adding_an_endpoint_shows_its_secret(webhook_app, client, factories, receiver):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    signed_in(client, user)
    response = post(
        client,
        base(application),
        {"url": receiver.url, "mode": "test", "events": ["payment_session.failed"]},
        token_from=base(application),
    )
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.url == receiver.url and endpoint.events == ["payment_session.failed"]
    # Post/redirect/get: the endpoint's page shows the secret once; a reload never posts again.
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{base(application)}/{endpoint.id}")
    assert endpoint.secret in client.get(response.headers["Location"]).get_data(as_text=True)
    assert endpoint.secret not in client.get(response.headers["Location"]).get_data(as_text=True)
    listing = client.get(base(application)).get_data(as_text=True)
    assert receiver.url in listing and endpoint.secret not in listing


def test_a_refused_url_is_explained_and_nothing_is_created(webhook_app, client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    signed_in(client, user)
    response = post(
        client,
        base(application),
        {"url": "http://127.0.0.1/hook", "mode": "live"},
        token_from=base(application),
    )
    assert response.status_code in (302, 303)
    page = client.get(base(application)).get_data(as_text=True)
    assert "https" in page and "flash-error" in page
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_forms_without_a_csrf_token_are_refused(webhook_app, client, factories, receiver):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    signed_in(client, user)
    path = f"{base(application)}/{endpoint.id}"
    assert client.post(base(application), data={"url": receiver.url}).status_code == 400
    assert client.post(f"{path}/disable").status_code == 400
    assert db.session.get(WebhookEndpoint, endpoint.pk).enabled is True


def test_the_secret_is_revealed_on_request_and_rotation_keeps_the_old_one(
    webhook_app, client, factories, receiver
):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    old_secret = endpoint.secret
    path = f"{base(application)}/{endpoint.id}"
    page = signed_in(client, user).get(path).get_data(as_text=True)
    assert old_secret not in page
    answer = post(client, f"{path}/secret", token_from=path)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(path)
    assert old_secret in client.get(path).get_data(as_text=True)
    assert old_secret not in client.get(path).get_data(as_text=True)

    answer = post(client, f"{path}/rotate", token_from=path)
    assert answer.status_code == 303
    rotated = client.get(path).get_data(as_text=True)
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.pk)
    assert endpoint.secret != old_secret and endpoint.secret in rotated
    assert endpoint.previous_secret == old_secret
    assert "also signs" in rotated


def test_disable_enable_and_test_event_from_the_endpoint_page(
    webhook_app, client, factories, receiver
):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    path = f"{base(application)}/{endpoint.id}"
    signed_in(client, user)

    post(client, f"{path}/disable", token_from=path)
    assert db.session.get(WebhookEndpoint, endpoint.pk).enabled is False
    post(client, f"{path}/enable", token_from=path)
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.pk).enabled is True

    post(client, f"{path}/test", token_from=path)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.event_type == "webhook.test"
    deliver_webhook(delivery.id)
    assert receiver.wait_for(1)[0].verifies(endpoint.secret)


def test_the_delivery_log_filters_and_shows_each_try_and_resends(
    webhook_app, client, factories, receiver
):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    emit(application, "payment_session.succeeded")
    failed_event = emit(application, "payment_session.failed")
    by_type = {d.event_type: d for d in db.session.scalars(select(WebhookDelivery))}
    receiver.status = 500
    deliver_webhook(by_type["payment_session.failed"].id)
    path = f"{base(application)}/{endpoint.id}"
    signed_in(client, user)

    page = client.get(path).get_data(as_text=True)
    assert failed_event.id in page and "payment_session.succeeded" in page
    pending = client.get(f"{path}?status=pending&event_type=payment_session.failed")
    assert failed_event.id in pending.get_data(as_text=True)
    none = client.get(f"{path}?status=succeeded").get_data(as_text=True)
    assert failed_event.id not in none and "No deliveries" in none

    delivery_path = f"{path}/deliveries/{by_type['payment_session.failed'].id}"
    detail = client.get(delivery_path).get_data(as_text=True)
    assert "500" in detail and " ms" in detail
    assert "(body not kept: private address)" in detail and "received&#34;" not in detail

    receiver.status = 200
    resent = post(client, f"{delivery_path}/resend", token_from=delivery_path)
    assert resent.status_code in (302, 303)
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, by_type["payment_session.failed"].pk)
    assert delivery.status == "pending"
    assert deliver_webhook(delivery.id) == "succeeded"
    detail = client.get(delivery_path).get_data(as_text=True)
    assert detail.count("<tr>") >= 3  # header row and both tries


def test_deleting_from_the_portal_removes_the_endpoint(webhook_app, client, factories, receiver):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    path = f"{base(application)}/{endpoint.id}"
    signed_in(client, user)
    post(client, f"{path}/delete", token_from=path)
    assert client.get(path).status_code == 404


def test_another_merchants_endpoint_pages_are_404(webhook_app, client, factories, receiver):
    _, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url)
    emit(application)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    signed_in(client, user)
    path = f"{base(application)}/{endpoint.id}"
    assert client.get(base(application)).status_code == 404
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/deliveries/{delivery.id}").status_code == 404


def test_the_webhook_pages_need_a_login(webhook_app, client, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    response = client.get(f"{base(application)}/{endpoint.id}")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
