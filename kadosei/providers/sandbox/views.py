"""The sandbox providers' hosted payment pages under ``/sandbox/<provider>/…``: what a PSP
shows the customer. Thin views: each action is one call into the sandbox PSP's back office,
which commits and queues the signed notification; then the customer goes back (303)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template

from kadosei.errors import InvalidRequest, not_found
from kadosei.models.sandbox import SandboxPayment
from kadosei.providers.registry import get_sandbox_provider
from kadosei.providers.sandbox import psp
from kadosei.providers.sandbox.adapter import SandboxProvider
from kadosei.providers.sandbox.cards import TEST_CARDS, InvalidCardNumber, normalize_card_number
from kadosei.providers.sandbox.forms import CardPaymentForm, CustomerActionForm

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

PAGE = "/<provider>/pay/<reference>"


@bp.get(PAGE)
def show_payment(provider: str, reference: str):
    adapter, payment = _load(provider, reference)
    return _render(adapter, payment, CardPaymentForm())


@bp.post(PAGE)
def pay_by_card(provider: str, reference: str):
    adapter, payment = _load(provider, reference, method="card")
    form = CardPaymentForm()
    if psp.current_status(payment) != "pending":
        return _back_to_shop(payment)
    if form.validate_on_submit():
        try:
            card_number = normalize_card_number(form.card_number.data)
        except InvalidCardNumber as exc:
            form.card_number.errors.append(str(exc))
        else:
            psp.pay_by_card(payment, card_number, rng=adapter.rng)
            return _back_to_shop(payment)
    return _render(adapter, payment, form), 422


@bp.post(PAGE + "/authorize")
def authorize(provider: str, reference: str):
    _, payment = _load(provider, reference, method="other", form=CustomerActionForm())
    return _back_to_shop(psp.authorize(payment))


@bp.post(PAGE + "/fail")
def fail(provider: str, reference: str):
    _, payment = _load(provider, reference, method="other", form=CustomerActionForm())
    return _back_to_shop(psp.decline(payment))


@bp.post(PAGE + "/cancel")
def cancel(provider: str, reference: str):
    _, payment = _load(provider, reference, form=CustomerActionForm())
    return _back_to_shop(psp.cancel(payment))


def _load(
    provider: str,
    reference: str,
    method: str | None = None,
    form: CustomerActionForm | None = None,
) -> tuple[SandboxProvider, SandboxPayment]:
    """The provider and its payment (404 otherwise), checking the page's method and the
    action form's CSRF token (the card form checks its own)."""
    adapter = get_sandbox_provider(provider)
    payment = psp.find_payment(provider, reference) if adapter else None
    if adapter is None or payment is None:
        raise not_found("payment", reference)
    is_card = payment.payment_method == "card"
    if (method == "card" and not is_card) or (method == "other" and is_card):
        raise InvalidRequest("This action does not apply to this payment method")
    if form is not None and not form.validate_on_submit():
        raise InvalidRequest("The form expired; go back, reload the page and try again")
    return adapter, payment


def _render(adapter: SandboxProvider, payment: SandboxPayment, form: CardPaymentForm):
    return render_template(
        "sandbox/pay.html",
        provider=adapter,
        payment=payment,
        status=psp.current_status(payment),
        form=form,
        action_form=CustomerActionForm(),
        test_cards=TEST_CARDS,
    )


def _back_to_shop(payment: SandboxPayment):
    return redirect(payment.return_url, code=303)
