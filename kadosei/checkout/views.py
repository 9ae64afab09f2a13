"""``GET /checkout/{id}`` sends the customer to a provider's hosted page; ``…/return`` back;
after a decline, ``…/retry`` and ``…/give_up`` answer the page's two buttons (POST, then 303)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from kadosei.checkout.blueprint import bp
from kadosei.checkout.decline_words import decline_advice, decline_sentence
from kadosei.checkout.forms import ReturnToShopForm, TryAgainForm
from kadosei.errors import NotFound
from kadosei.services import attempts, shop
from kadosei.services.checkout_links import with_session_id

# Which page shows a session that does not send the customer to a provider now.
PAGES = {
    "unavailable": ("checkout/unavailable.html", 503),
    "preparing": ("checkout/preparing.html", 200),
    "processing": ("checkout/processing.html", 200),
    "ended": ("checkout/ended.html", 200),
}


@bp.errorhandler(NotFound)
def session_not_found(error: NotFound):
    return render_template("checkout/not_found.html"), 404


@bp.get("/<session_id>")
def start_checkout(session_id: str):
    step = attempts.begin_checkout(session_id)
    if step.kind == "redirect":
        return redirect(step.url, code=303)
    if step.kind == "declined":
        return _declined_page(step)
    template, status = PAGES[step.kind]
    session = step.session
    page = render_template(
        template,
        payment=session,
        continue_url=step.url,
        shop_name=shop.shop_name(session.merchant_id),
        shop_url=with_session_id(session.cancel_url, session.id),
    )
    return page, status


@bp.get("/<session_id>/return")
def return_from_provider(session_id: str):
    returned = request.args.to_dict()
    return redirect(
        attempts.confirm_return(session_id, returned.get("attempt"), returned), code=303
    )


@bp.post("/<session_id>/retry")
def try_again(session_id: str):
    form = TryAgainForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; go back, reload the page and try again")
    step = attempts.begin_checkout(session_id, retry_after=form.attempt.data)
    if step.kind == "redirect":
        return redirect(step.url, code=303)
    return redirect(url_for("checkout.start_checkout", session_id=session_id), code=303)


@bp.post("/<session_id>/give_up")
def return_to_shop(session_id: str):
    if not ReturnToShopForm().validate_on_submit():
        abort(400, "The form expired; go back, reload the page and try again")
    return redirect(attempts.return_to_shop(session_id), code=303)


def _declined_page(step: attempts.CheckoutStep):
    payment, declined = step.session, step.attempt
    return render_template(
        "checkout/declined.html",
        payment=payment,
        reason=decline_sentence(payment.last_failure_code),
        advice=decline_advice(payment.last_failure_code),
        attempts_left=payment.max_attempts - payment.attempts_failed,
        try_again=TryAgainForm(attempt=declined.id),
        give_up=ReturnToShopForm(),
        shop_name=shop.shop_name(payment.merchant_id),
    )
