"""``GET /checkout/{id}`` sends the customer to a provider's hosted page; ``…/return`` back."""

from __future__ import annotations

from flask import redirect, render_template, request

from kadosei.checkout.blueprint import bp
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
    return redirect(attempts.confirm_return(session_id, request.args.get("attempt")), code=303)
