"""Management API (JWT): an application's webhook endpoints (docs/api.md §3), plus, as additions,
secret rotation and the delivery log."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required
from kadosei.api.request import json_body
from kadosei.api.serializers import serialize_event, serialize_list
from kadosei.models import WebhookDelivery, WebhookEndpoint
from kadosei.models.base import isoformat
from kadosei.services import applications
from kadosei.services import webhook_endpoints as endpoints
from kadosei.services.pagination import parse_limit
from kadosei.services.validation import reject_unknown

BASE = "/applications/<app_id>/webhook_endpoints"


def serialize_webhook_endpoint(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    body = endpoints.endpoint_summary(endpoint)
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def serialize_delivery(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "last_status_code": delivery.last_status_code,
        "last_attempt_at": isoformat(delivery.last_attempt_at),
        "next_attempt_at": isoformat(delivery.next_attempt_at),
        "created_at": isoformat(delivery.created_at),
        "completed_at": isoformat(delivery.completed_at),
    }


def _endpoint(app_id: str, we_id: str) -> WebhookEndpoint:
    application = applications.get_application(g.merchant.id, app_id)
    return endpoints.get_endpoint(application, we_id)


@bp.get(BASE)
@jwt_required
def list_webhook_endpoints(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    page = endpoints.page_endpoints(
        application,
        mode=request.args.get("mode"),
        limit=parse_limit(request.args.get("limit")),
        starting_after=request.args.get("starting_after"),
    )
    return serialize_list(page, serialize_webhook_endpoint)


@bp.post(BASE)
@jwt_required
def create_webhook_endpoint(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    endpoint = endpoints.create_endpoint(application, json_body(), user_id=g.user.id)
    return serialize_webhook_endpoint(endpoint, with_secret=True), 201


@bp.get(f"{BASE}/<we_id>")
@jwt_required
def get_webhook_endpoint(app_id: str, we_id: str):
    return serialize_webhook_endpoint(_endpoint(app_id, we_id))


@bp.patch(f"{BASE}/<we_id>")
@jwt_required
def update_webhook_endpoint(app_id: str, we_id: str):
    endpoint = _endpoint(app_id, we_id)
    updated = endpoints.update_endpoint(endpoint, json_body(), user_id=g.user.id)
    return serialize_webhook_endpoint(updated)


@bp.delete(f"{BASE}/<we_id>")
@jwt_required
def delete_webhook_endpoint(app_id: str, we_id: str):
    endpoint = endpoints.delete_endpoint(_endpoint(app_id, we_id), user_id=g.user.id)
    return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}


@bp.post(f"{BASE}/<we_id>/test")
@jwt_required
def test_webhook_endpoint(app_id: str, we_id: str):
    reject_unknown(json_body(allow_empty=True), set())
    event = endpoints.send_test_event(_endpoint(app_id, we_id))
    return serialize_event(event), 201


@bp.post(f"{BASE}/<we_id>/rotate_secret")
@jwt_required
def rotate_webhook_secret(app_id: str, we_id: str):
    reject_unknown(json_body(allow_empty=True), set())
    endpoint = endpoints.rotate_secret(_endpoint(app_id, we_id), user_id=g.user.id)
    return serialize_webhook_endpoint(endpoint, with_secret=True)


@bp.get(f"{BASE}/<we_id>/deliveries")
@jwt_required
def list_webhook_deliveries(app_id: str, we_id: str):
    page = endpoints.page_deliveries(
        _endpoint(app_id, we_id),
        status=request.args.get("status"),
        event_type=request.args.get("event_type"),
        limit=parse_limit(request.args.get("limit")),
        starting_after=request.args.get("starting_after"),
    )
    return serialize_list(page, serialize_delivery)
