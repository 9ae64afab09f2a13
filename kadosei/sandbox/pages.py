"""The sandbox PSPs' hosted payment pages under ``/sandbox/<provider>/…``: what a PSP shows
the customer. Thin views: each action is one call into the PSP's books, which commits and
queues the signed notification; then the customer goes back (303)."""

from __future__ import annotations

import random

from flask import Blueprint, abort, redirect, render_template

from kadosei.sandbox import payments
from kadosei.sandbox.cards import TEST_CARDS, InvalidCardNumber, normalize_card_number
from kadosei.sandbox.forms import CardPaymentForm, CustomerActionForm
from kadosei.sandbox.models import SandboxPayment
from kadosei.sandbox.psps import Psp, get_psp

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

PAGE = "/<provider>/pay/<reference>"
# Decides the success-rate knob for the cards paid on these pages.
_dice = random.Random()


@bp.get(PAGE)
def show_payment(provider: str, reference: str):
    seller, payment = _load(provider, reference)
    return _render(seller, payment, CardPaymentForm())


@bp.post(PAGE)
def pay_by_card(provider: str, reference: str):
    seller, payment = _load(provider, reference, method="card")
    form = CardPaymentForm()
    if payments.current_status(payment) != "pending":
        return _back_to_shop(payment)
    if form.validate_on_submit():
        try:
            card_number = normalize_card_number(form.card_number.data)
        except InvalidCardNumber as exc:
            form.card_number.errors.append(str(exc))
        else:
            payments.pay_by_card(payment, card_number, rng=_dice)
            return _back_to_shop(payment)
    return _render(seller, payment, form), 422


@bp.post(PAGE + "/authorize")
def authorize(provider: str, reference: str):
    _, payment = _load(provider, reference, method="other", form=CustomerActionForm())
    return _back_to_shop(payments.authorize(payment))


@bp.post(PAGE + "/fail")
def fail(provider: str, reference: str):
    _, payment = _load(provider, reference, method="other", form=CustomerActionForm())
    return _back_to_shop(payments.decline(payment))


@bp.post(PAGE + "/cancel")
def cancel(provider: str, reference: str):
    _, payment = _load(provider, reference, form=CustomerActionForm())
    return _back_to_shop(payments.cancel(payment))


def _load(
    provider: str,
    reference: str,
    method: str | None = None,
    form: CustomerActionForm | None = None,
) -> tuple[Psp, SandboxPayment]:
    """The PSP and its payment (404 otherwise), checking the page's method and the action
    form's CSRF token (the card form checks its own)."""
    found = get_psp(provider)
    payment = payments.find_payment(provider, reference) if found else None
    if found is None or payment is None:
        abort(404, f"No such payment: {reference}")
    is_card = payment.payment_method == "card"
    if (method == "card" and not is_card) or (method == "other" and is_card):
        abort(400, "This action does not apply to this payment method")
    if form is not None and not form.validate_on_submit():
        abort(400, "The form expired; go back, reload the page and try again")
    return found, payment


def _render(seller: Psp, payment: SandboxPayment, form: CardPaymentForm):
    return render_template(
        "sandbox/pay.html",
        provider=seller,
        payment=payment,
        status=payments.current_status(payment),
        form=form,
        action_form=CustomerActionForm(),
        test_cards=TEST_CARDS,
    )


def _back_to_shop(payment: SandboxPayment):
    return redirect(payment.return_url, code=303)
