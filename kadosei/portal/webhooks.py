"""Webhook endpoints in the portal (docs/api.md §8): endpoints per application, each with its secret
(revealed on request), enable/disable, rotation, a test event, the delivery log and resend."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from kadosei.errors import KadoseiError
from kadosei.models import EVENT_TYPES, Application, WebhookEndpoint
from kadosei.models.base import utcnow
from kadosei.portal import one_time
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import ActionForm
from kadosei.schemas.limits import URL_MAX, WEBHOOK_DESCRIPTION_MAX
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import (
    WebhookDeliveryListQuery,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from kadosei.services import applications
from kadosei.services import webhook_endpoints as endpoints

PAGE_SIZE = 25
BASE = "/applications/<app_id>/webhooks"


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired(), Length(max=URL_MAX)])
    mode = SelectField(
        "Mode", choices=[SelectChoice("test", "Test"), SelectChoice("live", "Live")], default="test"
    )
    description = TextAreaField(
        "Description (optional)", validators=[Optional(), Length(max=WEBHOOK_DESCRIPTION_MAX)]
    )
    events = SelectMultipleField(
        "Events (none ticked: every event)",
        choices=[SelectChoice(t) for t in endpoints.SUBSCRIBABLE_EVENTS],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validate_choice=True,
    )


class EndpointSettingsForm(EndpointForm):
    mode = StringField("Mode", render_kw={"disabled": True})


def _scope(app_id: str) -> Application:
    return applications.get_application(current_user.merchant_id, app_id)


def _endpoint(app_id: str, we_id: str) -> tuple[Application, WebhookEndpoint]:
    application = _scope(app_id)
    return application, endpoints.get_endpoint(application, we_id)


def _back(app_id: str, we_id: str):
    return redirect(url_for("portal.show_webhook_endpoint", app_id=app_id, we_id=we_id), code=303)


def _reveal_secret(app_id: str, we_id: str):
    """Post/redirect/get: the endpoint's next page view (only) shows its secret."""
    one_time.keep(_revealed(we_id), "1")
    return _back(app_id, we_id)


def _revealed(we_id: str) -> str:
    return f"webhook_secret:{we_id}"


def _form_data(form: EndpointForm) -> dict:
    return {
        "url": form.url.data,
        "events": list(form.events.data or []),
        "description": form.description.data or None,
    }


@bp.get(BASE)
@login_required
def list_webhook_endpoints(app_id: str):
    application = _scope(app_id)
    return render_template(
        "portal/webhooks/index.html",
        application=application,
        endpoints=endpoints.list_endpoints(application),
        form=EndpointForm(),
    )


@bp.post(BASE)
@login_required
def create_webhook_endpoint(app_id: str):
    application = _scope(app_id)
    form = EndpointForm()
    if not form.validate_on_submit():
        flash(
            f"Enter the endpoint's URL (at most {URL_MAX} characters) and choose a mode.", "error"
        )
        return redirect(url_for("portal.list_webhook_endpoints", app_id=app_id))
    try:
        fields = parse(WebhookEndpointCreate, {**_form_data(form), "mode": form.mode.data})
        endpoint = endpoints.create_endpoint(application, fields, user_id=current_user.id)
    except KadoseiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("portal.list_webhook_endpoints", app_id=app_id))
    flash("Endpoint added. Verify deliveries with the signing secret below.", "success")
    return _reveal_secret(app_id, endpoint.id)


@bp.get(f"{BASE}/<we_id>")
@login_required
def show_webhook_endpoint(app_id: str, we_id: str):
    application, endpoint = _endpoint(app_id, we_id)
    reveal = one_time.take(_revealed(endpoint.id)) is not None
    page = _render_endpoint(application, endpoint, reveal=reveal)
    return (page, 200, {"Cache-Control": "no-store"}) if reveal else page


@bp.post(f"{BASE}/<we_id>/secret")
@login_required
def reveal_webhook_secret(app_id: str, we_id: str):
    _endpoint(app_id, we_id)
    if not ActionForm().validate_on_submit():
        return _back(app_id, we_id)
    return _reveal_secret(app_id, we_id)


@bp.post(f"{BASE}/<we_id>/settings")
@login_required
def update_webhook_endpoint(app_id: str, we_id: str):
    _, endpoint = _endpoint(app_id, we_id)
    form = EndpointSettingsForm()
    if not form.validate_on_submit():
        flash(f"Enter a URL (at most {URL_MAX} characters); pick events from the list.", "error")
        return _back(app_id, we_id)
    try:
        changes = parse(WebhookEndpointUpdate, _form_data(form))
        endpoints.update_endpoint(endpoint, changes, user_id=current_user.id)
        flash("Endpoint saved.", "success")
    except KadoseiError as exc:
        flash(exc.message, "error")
    return _back(app_id, we_id)


@bp.post(f"{BASE}/<we_id>/enable")
@login_required
def enable_webhook_endpoint(app_id: str, we_id: str):
    return _set_enabled(app_id, we_id, True, "Endpoint enabled: new events are sent to it.")


@bp.post(f"{BASE}/<we_id>/disable")
@login_required
def disable_webhook_endpoint(app_id: str, we_id: str):
    return _set_enabled(app_id, we_id, False, "Endpoint disabled: nothing more is sent to it.")


def _set_enabled(app_id: str, we_id: str, enabled: bool, message: str):
    _, endpoint = _endpoint(app_id, we_id)
    if ActionForm().validate_on_submit():
        changes = WebhookEndpointUpdate(enabled=enabled)
        endpoints.update_endpoint(endpoint, changes, user_id=current_user.id)
        flash(message, "success")
    return _back(app_id, we_id)


@bp.post(f"{BASE}/<we_id>/rotate")
@login_required
def rotate_webhook_secret(app_id: str, we_id: str):
    _, endpoint = _endpoint(app_id, we_id)
    if not ActionForm().validate_on_submit():
        return _back(app_id, we_id)
    endpoints.rotate_secret(endpoint, user_id=current_user.id)
    flash("New secret created. The old one keeps signing, alongside, for 24 hours.", "success")
    return _reveal_secret(app_id, we_id)


@bp.post(f"{BASE}/<we_id>/test")
@login_required
def send_test_webhook(app_id: str, we_id: str):
    _, endpoint = _endpoint(app_id, we_id)
    if ActionForm().validate_on_submit():
        try:
            event = endpoints.send_test_event(endpoint)
            flash(f"Test event {event.id} is on its way.", "success")
        except KadoseiError as exc:
            flash(exc.message, "error")
    return _back(app_id, we_id)


@bp.post(f"{BASE}/<we_id>/delete")
@login_required
def delete_webhook_endpoint(app_id: str, we_id: str):
    _, endpoint = _endpoint(app_id, we_id)
    if not ActionForm().validate_on_submit():
        return _back(app_id, we_id)
    endpoints.delete_endpoint(endpoint, user_id=current_user.id)
    flash("Endpoint deleted: nothing more is sent to it.", "success")
    return redirect(url_for("portal.list_webhook_endpoints", app_id=app_id))


@bp.get(f"{BASE}/<we_id>/deliveries/<wd_id>")
@login_required
def show_webhook_delivery(app_id: str, we_id: str, wd_id: str):
    application, endpoint = _endpoint(app_id, we_id)
    delivery = endpoints.get_delivery(endpoint, wd_id)
    return render_template(
        "portal/webhooks/delivery.html",
        application=application,
        endpoint=endpoint,
        delivery=delivery,
        event=endpoints.delivery_event(delivery),
        action_form=ActionForm(),
    )


@bp.post(f"{BASE}/<we_id>/deliveries/<wd_id>/resend")
@login_required
def resend_webhook_delivery(app_id: str, we_id: str, wd_id: str):
    _, endpoint = _endpoint(app_id, we_id)
    delivery = endpoints.get_delivery(endpoint, wd_id)
    if ActionForm().validate_on_submit():
        try:
            endpoints.resend_delivery(delivery, endpoint)
            flash("Delivery queued again; its earlier tries stay in the log.", "success")
        except KadoseiError as exc:
            flash(exc.message, "error")
    return redirect(
        url_for("portal.show_webhook_delivery", app_id=app_id, we_id=we_id, wd_id=wd_id)
    )


def _render_endpoint(application: Application, endpoint: WebhookEndpoint, *, reveal: bool):
    filters = {
        name: (request.args.get(name) or "").strip() or None for name in ("status", "event_type")
    }
    query = parse(WebhookDeliveryListQuery, {name: v for name, v in filters.items() if v})
    page = endpoints.page_deliveries(
        endpoint,
        status=query.status,
        event_type=query.event_type,
        limit=PAGE_SIZE,
        starting_after=request.args.get("starting_after") or None,
    )
    next_url = None
    if page.has_more:
        kept = {name: value for name, value in filters.items() if value}
        next_url = url_for(
            "portal.show_webhook_endpoint",
            app_id=application.id,
            we_id=endpoint.id,
            starting_after=page.items[-1].id,
            **kept,
        )
    settings = EndpointSettingsForm(
        data={
            "url": endpoint.url,
            "mode": endpoint.mode,
            "description": endpoint.description,
            "events": list(endpoint.events or []),
        }
    )
    return render_template(
        "portal/webhooks/show.html",
        application=application,
        endpoint=endpoint,
        reveal=reveal,
        page=page,
        next_url=next_url,
        filters=filters,
        statuses=endpoints.DELIVERY_STATUSES,
        event_types=EVENT_TYPES,
        settings=settings,
        action_form=ActionForm(),
        now_utc=utcnow(),
    )
