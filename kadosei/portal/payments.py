"""Payment sessions in the portal: search, CSV export, the detail page's timeline, and
capture or void of an authorised payment (docs/api.md §8, §4.2)."""

from __future__ import annotations

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, Form, SelectChoice, SelectField, StringField
from wtforms.validators import Email, Length, Optional, Regexp, ValidationError

from kadosei.currencies import is_currency, major_units, parse_amount
from kadosei.errors import KadoseiError
from kadosei.models import PAYMENT_METHODS, SESSION_STATUSES
from kadosei.models.base import utcnow
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import ActionForm, RefundForm
from kadosei.schemas.vocabulary import MODES
from kadosei.services import applications, captures, payments, refunds
from kadosei.services.audit import Actor
from kadosei.services.capture_window import capture_deadline, capture_deadlines
from kadosei.services.payment_export import export_csv, export_filename
from kadosei.services.payment_search import PaymentFilters, provider_names, search_sessions
from kadosei.services.payment_timeline import session_timeline

PAGE_SIZE = 25


def _any(label: str, values) -> list[SelectChoice]:
    return [SelectChoice("", label), *(SelectChoice(v, v.replace("_", " ")) for v in values)]


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


def _code(value: str | None) -> str | None:
    return value.strip().upper() if value else value


class PaymentSearchForm(Form):
    """The search and filters, read from the query string so a search can be bookmarked."""

    session_id = StringField(
        "Session id",
        [Optional(), Regexp(r"^ps_[0-9A-Za-z]{1,37}$", message="A session id looks like ps_…")],
        filters=[_stripped],
    )
    reference = StringField(
        "Reference starts with", [Optional(), Length(max=255)], filters=[_stripped]
    )
    email = EmailField(
        "Customer e-mail", [Optional(), Length(max=320), Email()], filters=[_stripped]
    )
    amount = StringField("Amount", [Optional(), Length(max=20)], filters=[_stripped])
    status = SelectField("Status", choices=_any("Any", SESSION_STATUSES), default="")
    method = SelectField("Method", choices=_any("Any", PAYMENT_METHODS), default="")
    currency = StringField("Currency", [Optional(), Length(max=3)], filters=[_code])
    provider = SelectField("Provider", default="")
    mode = SelectField("Mode", choices=_any("Both", MODES), default="")
    application = SelectField("Application", default="")
    created_from = DateField("Created from", [Optional()])
    created_to = DateField("Created to", [Optional()])

    def __init__(self, formdata, merchant_id: str) -> None:
        super().__init__(formdata)
        self.provider.choices = _any("Any", provider_names())
        owned = applications.list_applications(merchant_id)
        self.application.choices = [
            SelectChoice("", "All applications"),
            *(SelectChoice(a.id, a.name) for a in owned),
        ]

    def validate_currency(self, field) -> None:
        if field.data and not is_currency(field.data):
            raise ValidationError("Not an ISO 4217 currency code (e.g. EUR)")

    def validate_amount(self, field) -> None:
        if field.data:
            try:
                parse_amount(field.data, self.currency.data or None)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    def validate_created_to(self, field) -> None:
        if field.data and self.created_from.data and field.data < self.created_from.data:
            raise ValidationError("The end date is before the start date")

    def filters(self) -> PaymentFilters:
        """The validated search, typed for the service."""
        return PaymentFilters(
            session_id=self.session_id.data or None,
            reference=self.reference.data or None,
            customer_email=self.email.data or None,
            amount=parse_amount(self.amount.data, self.currency.data or None)
            if self.amount.data
            else None,
            status=self.status.data or None,
            payment_method=self.method.data or None,
            currency=self.currency.data or None,
            provider=self.provider.data or None,
            mode=self.mode.data or None,
            application_id=self.application.data or None,
            created_from=self.created_from.data,
            created_to=self.created_to.data,
        )

    def query_args(self) -> dict[str, str]:
        """The search as query parameters (for the next page and the export link)."""
        return {name: request.args[name] for name in self._fields if request.args.get(name)}


@bp.get("/payments")
@login_required
def list_payments():
    form = PaymentSearchForm(request.args, current_user.merchant_id)
    if not form.validate():
        return render_template("portal/payments/index.html", form=form, page=None), 400
    page = search_sessions(
        current_user.merchant_id,
        form.filters(),
        limit=PAGE_SIZE,
        starting_after=request.args.get("starting_after") or None,
    )
    next_url = None
    if page.has_more:
        args = form.query_args()
        next_url = url_for("portal.list_payments", starting_after=page.items[-1].id, **args)
    return render_template(
        "portal/payments/index.html",
        form=form,
        page=page,
        next_url=next_url,
        capture_by=capture_deadlines(page.items),
    )


@bp.get("/payments/export.csv")
@login_required
def export_payments():
    form = PaymentSearchForm(request.args, current_user.merchant_id)
    if not form.validate():
        return render_template("portal/payments/index.html", form=form, page=None), 400
    lines = export_csv(current_user.merchant_id, form.filters())
    filename = export_filename(utcnow().date())
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/payments/<session_id>")
@login_required
def show_payment(session_id: str):
    session = payments.get_merchant_session(current_user.merchant_id, session_id)
    capture_form = CaptureForm(amount=major_units(session.amount, session.currency))
    return render_template(
        "portal/payments/show.html",
        payment=session,
        timeline=session_timeline(session),
        capture_by=capture_deadline(session),
        capture_form=capture_form,
        action_form=ActionForm(),
        refunds=refunds.session_refunds(session.id),
        refundable=refunds.refundable_amount(session),
        refund_form=RefundForm(),
    )


class CaptureForm(FlaskForm):
    """How much of an authorisation to capture, in the currency's major unit (19.99); the
    service decides whether that much is held."""

    amount = StringField("Amount to capture", [Length(max=20)], filters=[_stripped])

    def minor_amount(self, currency: str) -> int:
        """The amount in minor units; ValueError says why it is not one."""
        amount = parse_amount(self.amount.data or "", currency, in_major_units=True)
        if amount <= 0:
            raise ValueError("Capture an amount above zero")
        return amount


@bp.post("/payments/<session_id>/capture")
@login_required
def capture_payment(session_id: str):
    session = payments.get_merchant_session(current_user.merchant_id, session_id)
    form = CaptureForm()
    try:
        if not form.validate_on_submit():
            raise ValueError("The form expired; reload the page and try again")
        amount = form.minor_amount(session.currency)
        captures.capture_session(
            session.id,
            amount,
            by=f"portal, {current_user.email}",
            actor=Actor.person(current_user.id, request.remote_addr),
        )
    except ValueError as exc:
        flash(str(exc), "error")
    except KadoseiError as exc:
        flash(exc.message, "error")
    else:
        flash("Captured. The rest of the authorisation is released.", "success")
    return redirect(url_for("portal.show_payment", session_id=session.id), code=303)


@bp.post("/payments/<session_id>/void")
@login_required
def void_payment(session_id: str):
    session = payments.get_merchant_session(current_user.merchant_id, session_id)
    if not ActionForm().validate_on_submit():
        flash("The form expired; reload the page and try again", "error")
        return redirect(url_for("portal.show_payment", session_id=session.id), code=303)
    try:
        cause = f"authorisation voided in the portal by {current_user.email}"
        captures.void_session(
            session.id, cause=cause, actor=Actor.person(current_user.id, request.remote_addr)
        )
    except KadoseiError as exc:
        flash(exc.message, "error")
    else:
        flash("Voided: the customer's authorisation is released.", "success")
    return redirect(url_for("portal.show_payment", session_id=session.id), code=303)


@bp.post("/payments/<session_id>/refunds")
@login_required
def refund_payment(session_id: str):
    """The payment page's refund form: the API's rules and road (``services.refunds``)."""
    session = payments.get_merchant_session(current_user.merchant_id, session_id)
    form = RefundForm()
    back = redirect(url_for("portal.show_payment", session_id=session.id))
    if not form.validate_on_submit():
        flash("The form expired or was incomplete; try again.", "error")
        return back
    try:
        amount = form.amount_in_minor_units(session.currency)
        made = refunds.refund_merchant_session(
            current_user.merchant_id,
            session.id,
            amount,
            form.reason.data or None,
            actor=Actor.person(current_user.id, request.remote_addr),
        )
    except ValueError as exc:
        flash(str(exc), "error")
    except KadoseiError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Refund {made.id} of {made.amount} (minor units) sent: {made.status}.", "success")
    return back
