"""Payment sessions in the portal: a filtered list and a detail page (docs/api.md §8)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user, login_required

from kadosei.models import SESSION_STATUSES
from kadosei.portal.blueprint import bp
from kadosei.services import applications, event_log, payments, provider_notifications

PAGE_SIZE = 25
FILTERS = ("application", "mode", "status", "reference")


@bp.get("/payments")
@login_required
def list_payments():
    filters = {name: (request.args.get(name) or "").strip() or None for name in FILTERS}
    page = payments.list_merchant_sessions(
        current_user.merchant_id,
        application_id=filters["application"],
        mode=filters["mode"],
        status=filters["status"],
        reference=filters["reference"],
        limit=PAGE_SIZE,
        starting_after=request.args.get("starting_after") or None,
    )
    next_url = None
    if page.has_more:
        kept = {name: value for name, value in filters.items() if value}
        next_url = url_for("portal.list_payments", starting_after=page.items[-1].id, **kept)
    return render_template(
        "portal/payments/index.html",
        page=page,
        next_url=next_url,
        filters=filters,
        applications=applications.list_applications(current_user.merchant_id),
        statuses=SESSION_STATUSES,
    )


@bp.get("/payments/<session_id>")
@login_required
def show_payment(session_id: str):
    session = payments.get_merchant_session(current_user.merchant_id, session_id)
    events = event_log.session_events(session.id)
    return render_template(
        "portal/payments/show.html",
        payment=session,
        events=events,
        deliveries=event_log.deliveries_by_event(events),
        notifications=provider_notifications.for_session(session),
    )
