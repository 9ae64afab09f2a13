"""``GET /checkout/{id}`` sends the customer to a provider's hosted page; ``…/return`` back."""

from __future__ import annotations

from flask import redirect, render_template, request

from kadosei.checkout.blueprint import bp
from kadosei.errors import NotFound
from kadosei.services import attempts

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
    return render_template(template, payment=step.session, continue_url=step.url), status


@bp.get("/<session_id>/return")
def return_from_provider(session_id: str):
    returned = request.args.to_dict()
    return redirect(
        attempts.confirm_return(session_id, returned.get("attempt"), returned), code=303
    )
