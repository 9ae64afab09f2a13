"""Refunds (API key): create, read, list (docs/api.md §4.3)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import api_key_required
from kadosei.api.request import json_body
from kadosei.representation import serialize_list, serialize_refund
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import RefundCreate, RefundListQuery
from kadosei.services import refunds
from kadosei.services.audit import Actor


@bp.post("/refunds")
@api_key_required
def create_refund():
    fields = parse(RefundCreate, json_body())
    response = refunds.create_refund(
        g.application,
        g.mode,
        fields,
        actor=Actor.api_key(g.api_key_id, g.application.id, request.remote_addr),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return response.body, response.status


@bp.get("/refunds")
@api_key_required
def list_refunds():
    query = parse(RefundListQuery, request.args.to_dict())
    page = refunds.list_refunds(
        g.application,
        g.mode,
        session_id=query.payment_session,
        limit=query.limit,
        starting_after=query.starting_after,
    )
    return serialize_list(page, serialize_refund)


@bp.get("/refunds/<refund_id>")
@api_key_required
def get_refund(refund_id: str):
    return serialize_refund(refunds.get_refund(g.application, g.mode, refund_id))
