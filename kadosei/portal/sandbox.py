"""The sandbox providers page: what each offers and costs, and the operator's knobs."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField
from wtforms.validators import InputRequired

from kadosei.errors import KadoseiError, not_found
from kadosei.models.payment import PAYMENT_METHODS
from kadosei.portal.blueprint import bp
from kadosei.providers import registry
from kadosei.providers.base import Fee
from kadosei.providers.sandbox.adapter import SandboxProvider
from kadosei.providers.sandbox.knobs import Knobs, load_all_knobs, update_knobs
from kadosei.services.accounts import may_operate
from kadosei.services.currencies import all_currencies


class KnobsForm(FlaskForm):
    enabled = BooleanField("Enabled (offered to routing)")
    down = BooleanField("Down (its API refuses every call)")
    slow_ms = IntegerField("Slow (ms added to every API call)", validators=[InputRequired()])
    error_rate = FloatField("Error rate (0–1 of checkouts)", validators=[InputRequired()])
    success_rate = FloatField("Success rate (0–1 of valid cards)", validators=[InputRequired()])


@dataclass(frozen=True)
class MethodOffer:
    method: str
    fee: Fee
    currencies: str


@bp.get("/sandbox-providers")
@login_required
def sandbox_providers():
    knobs = load_all_knobs()
    rows = [
        (provider, _offers(provider), _form_for(knobs.get(provider.name, Knobs())))
        for provider in registry.sandbox_providers()
    ]
    return render_template(
        "portal/sandbox/index.html", rows=rows, can_operate=may_operate(current_user)
    )


@bp.post("/sandbox-providers/<provider>")
@login_required
def update_sandbox_provider(provider: str):
    if registry.get_sandbox_provider(provider) is None:
        raise not_found("sandbox provider", provider)
    if not may_operate(current_user):
        # The knobs are platform-wide: one merchant must not break everyone's test mode.
        abort(403, "Only a platform operator can change the sandbox providers.")
    form = KnobsForm()
    if form.validate_on_submit():
        try:
            update_knobs(provider, _changes(form))
        except KadoseiError as exc:
            flash(exc.message, "error")
        else:
            flash(f"{provider} updated: every kadosei process uses it from now on.", "success")
    else:
        flash("Slow must be a whole number and the rates numbers between 0 and 1.", "error")
    return redirect(url_for("portal.sandbox_providers"))


def _form_for(knobs: Knobs) -> KnobsForm:
    return KnobsForm(formdata=None, data=knobs.__dict__)


def _changes(form: KnobsForm) -> dict[str, object]:
    return {
        "enabled": form.enabled.data,
        "down": form.down.data,
        "slow_ms": form.slow_ms.data,
        "error_rate": form.error_rate.data,
        "success_rate": form.success_rate.data,
    }


def _offers(provider: SandboxProvider) -> list[MethodOffer]:
    capabilities = provider.capabilities()
    every = len(all_currencies())
    offers = []
    for method in PAYMENT_METHODS:
        if method not in capabilities.methods:
            continue
        allowed = capabilities.method_currencies.get(method, capabilities.currencies)
        if allowed is None:
            text = f"every ISO 4217 currency ({every})"
        else:
            text = ", ".join(sorted(allowed))
        offers.append(MethodOffer(method, capabilities.fees[method], text))
    return offers
