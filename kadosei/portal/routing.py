"""The Routing page: the learned router's current estimates and breaker states per segment."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from kadosei.models import MODES
from kadosei.portal.blueprint import bp
from kadosei.services.routing_overview import routing_overview


@bp.get("/routing")
@login_required
def show_routing():
    mode = request.args.get("mode") or "test"
    overview = routing_overview(current_user.merchant_id, mode)
    return render_template("portal/routing/index.html", overview=overview, modes=MODES)
