"""The dashboard: volume and success rate over time and per provider."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from kadosei.models import MODES
from kadosei.portal.blueprint import bp
from kadosei.portal.charts import HEIGHT, PAD, WIDTH, volume_and_rate_chart
from kadosei.services.reporting import merchant_dashboard


@bp.get("/dashboard")
@login_required
def show_dashboard():
    mode = request.args.get("mode", "test")
    if mode not in MODES:
        mode = "test"
    board = merchant_dashboard(current_user.merchant_id, mode)
    return render_template(
        "portal/dashboard/show.html",
        board=board,
        mode=mode,
        chart=volume_and_rate_chart(board.days),
        size={"width": WIDTH, "height": HEIGHT, "pad": PAD},
    )
