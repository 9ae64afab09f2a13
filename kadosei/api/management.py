"""Management API (JWT): the merchant, its applications and their API keys."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required
from kadosei.api.request import json_body
from kadosei.models import ApiKey, Application
from kadosei.representation import (
    serialize_api_key,
    serialize_application,
    serialize_list,
    serialize_merchant,
)
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import (
    ApiKeyCreate,
    ApplicationCreate,
    ApplicationUpdate,
    MerchantUpdate,
    PageQuery,
)
from kadosei.services import api_keys, applications, merchants
from kadosei.services.pagination import paginate, scoped


@bp.get("/merchant")
@jwt_required
def get_merchant():
    return serialize_merchant(g.merchant)


@bp.patch("/merchant")
@jwt_required
def update_merchant():
    changes = parse(MerchantUpdate, json_body())
    merchant = merchants.update_merchant(
        g.merchant, changes, user_id=g.user.id, ip=request.remote_addr
    )
    return serialize_merchant(merchant)


@bp.get("/applications")
@jwt_required
def list_applications():
    query = parse(PageQuery, request.args.to_dict())
    page = paginate(
        scoped(Application, merchant_id=g.merchant.id),
        Application,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_application)


@bp.post("/applications")
@jwt_required
def create_application():
    fields = parse(ApplicationCreate, json_body())
    application = applications.create_application(g.merchant.id, fields, user_id=g.user.id)
    return serialize_application(application), 201


@bp.get("/applications/<app_id>")
@jwt_required
def get_application(app_id: str):
    return serialize_application(applications.get_application(g.merchant.id, app_id))


@bp.patch("/applications/<app_id>")
@jwt_required
def update_application(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    changes = parse(ApplicationUpdate, json_body())
    return serialize_application(applications.update_application(application, changes))


@bp.delete("/applications/<app_id>")
@jwt_required
def archive_application(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    applications.archive_application(application, user_id=g.user.id)
    return serialize_application(application)


@bp.get("/applications/<app_id>/api_keys")
@jwt_required
def list_api_keys(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    query = parse(PageQuery, request.args.to_dict())
    page = paginate(
        scoped(ApiKey, application_id=application.id),
        ApiKey,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_api_key)


@bp.post("/applications/<app_id>/api_keys")
@jwt_required
def create_api_key(app_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    fields = parse(ApiKeyCreate, json_body())
    created = api_keys.create_api_key(application, fields, user_id=g.user.id)
    return serialize_api_key(created.api_key, created.secret, created.warning), 201


@bp.delete("/applications/<app_id>/api_keys/<key_id>")
@jwt_required
def revoke_api_key(app_id: str, key_id: str):
    application = applications.get_application(g.merchant.id, app_id)
    key = applications.get_api_key(application, key_id)
    return serialize_api_key(api_keys.revoke_api_key(key, user_id=g.user.id))
