"""The provider accounts: the operator's list of configured accounts (docs/api.md §10), and for
every merchant what each mode can take."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from kadosei.portal.blueprint import bp
from kadosei.services import provider_accounts
from kadosei.services.accounts import may_operate


@bp.get("/provider-accounts")
@login_required
def list_provider_accounts():
    if not may_operate(current_user):
        abort(403, "Only a platform operator can see the provider accounts.")
    overview = provider_accounts.accounts_overview()
    return render_template("portal/providers/accounts.html", overview=overview)


@bp.get("/payment-methods")
@login_required
def show_payment_methods():
    return render_template(
        "portal/providers/payment_methods.html",
        coverage=provider_accounts.coverage_by_mode(),
    )
