"""The sandbox PSPs' back office at ``/sandbox-providers``: what each offers and charges, and
the operator's knobs (down, slow, error rate, success rate, enabled). Anyone logged in may
look; only someone the app says may operate (``init_sandbox``) may change the knobs, which
are platform-wide: one merchant must not break everyone's test mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from kadosei.sandbox.forms import KnobsForm
from kadosei.sandbox.knobs import InvalidKnob, Knobs, load_all_knobs, update_knobs
from kadosei.sandbox.psps import METHOD_ORDER, PSPS, Price, Psp, get_psp

bp = Blueprint("sandbox_office", __name__)

MAY_OPERATE = "kadosei_sandbox_may_operate"


@dataclass(frozen=True)
class MethodOffer:
    method: str
    fee: Price
    currencies: str


@bp.get("/sandbox-providers")
@login_required
def show_providers():
    knobs = load_all_knobs()
    rows = [(psp, _offers(psp), _form_for(knobs.get(psp.name, Knobs()))) for psp in PSPS]
    return render_template("sandbox/backoffice.html", rows=rows, can_operate=_may_operate())


@bp.post("/sandbox-providers/<provider>")
@login_required
def update_provider(provider: str):
    if get_psp(provider) is None:
        abort(404, f"No sandbox provider {provider}")
    if not _may_operate():
        abort(403, "Only a platform operator can change the sandbox providers.")
    form = KnobsForm()
    if form.validate_on_submit():
        try:
            update_knobs(provider, _changes(form))
        except InvalidKnob as exc:
            flash(exc.message, "error")
        else:
            flash(f"{provider} updated: every kadosei process uses it from now on.", "success")
    else:
        flash("Slow must be a whole number and the rates numbers between 0 and 1.", "error")
    return redirect(url_for("sandbox_office.show_providers"))


def _may_operate() -> bool:
    check: Callable[[], bool] | None = current_app.extensions.get(MAY_OPERATE)
    return bool(check and check())


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


def _offers(psp: Psp) -> list[MethodOffer]:
    offers = []
    for method in METHOD_ORDER:
        if method not in psp.methods:
            continue
        allowed = psp.currencies_for(method)
        text = "every ISO 4217 currency" if allowed is None else ", ".join(sorted(allowed))
        offers.append(MethodOffer(method, psp.prices[method], text))
    return offers
