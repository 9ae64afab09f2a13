"""Management API (JWT): an application's webhook endpoints (docs/api.md §3), plus, as
additions, secret rotation and the delivery log."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required
from kadosei.api.request import json_body
from kadosei.models import WebhookEndpoint
from kadosei.representation import (
    serialize_deleted_webhook_endpoint,
    serialize_event,
    serialize_list,
    serialize_webhook_delivery,
    serialize_webhook_endpoint,
)
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import (
    EmptyBody,
    WebhookDeliveryListQuery,
    WebhookEndpointCreate,
    WebhookEndpointListQuery,
    WebhookEndpointUpdate,
)
from kadosei.services import applications
from kadosei.services import webhook_endpoints as endpoints

BASE = "/applications/<app_id>/webhook_endpoints"


def _endpoint(app_id: str, we_id: str) -> WebhookEndpoint:
    application = applications.get_application(g.merchant.id, app_id)
    return endpoints.get_endpoint(application, we_id)


@bp.get(BASE)
@jwt_required
def list_webhook_endpoints(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    query = parse(WebhookEndpointListQuery, request.args.to_dict())
    page = endpoints.page_endpoints(
        application, mode=query.mode, limit=query.limit, starting_after=query.starting_after
    )
    return serialize_list(page, serialize_webhook_endpoint)


@bp.post(BASE)
@jwt_required
def create_webhook_endpoint(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    fields = parse(WebhookEndpointCreate, json_body())
    endpoint = endpoints.create_endpoint(application, fields, user_id=g.user.id)
    return serialize_webhook_endpoint(endpoint, with_secret=True), 201


@bp.get(f"{BASE}/<we_id>")
@jwt_required
def get_webhook_endpoint(app_id: str, we_id: str):
    return serialize_webhook_endpoint(_endpoint(app_id, we_id))


@bp.patch(f"{BASE}/<we_id>")
@jwt_required
def update_webhook_endpoint(app_id: str, we_id: str):
    endpoint = _endpoint(app_id, we_id)
    changes = parse(WebhookEndpointUpdate, json_body())
    updated = endpoints.update_endpoint(endpoint, changes, user_id=g.user.id)
    return serialize_webhook_endpoint(updated)


@bp.delete(f"{BASE}/<we_id>")
@jwt_required
def delete_webhook_endpoint(app_id: str, we_id: str):
    endpoint = endpoints.delete_endpoint(_endpoint(app_id, we_id), user_id=g.user.id)
    return serialize_deleted_webhook_endpoint(endpoint)


@bp.post(f"{BASE}/<we_id>/test")
@jwt_required
def test_webhook_endpoint(app_id: str, we_id: str):
    parse(EmptyBody, json_body(allow_empty=True))
    event = endpoints.send_test_event(_endpoint(app_id, we_id))
    return serialize_event(event), 201


@bp.post(f"{BASE}/<we_id>/rotate_secret")
@jwt_required
def rotate_webhook_secret(app_id: str, we_id: str):
    parse(EmptyBody, json_body(allow_empty=True))
    endpoint = endpoints.rotate_secret(_endpoint(app_id, we_id), user_id=g.user.id)
    return serialize_webhook_endpoint(endpoint, with_secret=True)


@bp.get(f"{BASE}/<we_id>/deliveries")
@jwt_required
def list_webhook_deliveries(app_id: str, we_id: str):
    query = parse(WebhookDeliveryListQuery, request.args.to_dict())
    page = endpoints.page_deliveries(
        _endpoint(app_id, we_id),
        status=query.status,
        event_type=query.event_type,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_webhook_delivery)
