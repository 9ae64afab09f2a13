"""The dashboard: sessions and success rate by day, attempts per provider, over a period."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from kadosei.models import MODES
from kadosei.portal.blueprint import bp
from kadosei.portal.charts import outcome_chart
from kadosei.services.reporting import DEFAULT_PERIOD, PERIODS, merchant_dashboard


class DashboardForm(FlaskForm):
    """The period picker: a GET form, so a view of the dashboard is a link."""

    class Meta:
        csrf = False

    period = SelectField(
        "Period", choices=[SelectChoice(k, v) for k, v in PERIODS.items()], default=DEFAULT_PERIOD
    )
    mode = SelectField(
        "Mode", choices=[SelectChoice(m, f"{m.capitalize()} mode") for m in MODES], default="test"
    )


@bp.get("/dashboard")
@login_required
def show_dashboard():
    form = DashboardForm(request.args)
    notice = None
    if not form.validate():
        if form.period.errors:
            notice = f"Unknown period: showing the {PERIODS[DEFAULT_PERIOD].lower()}."
            form.period.data = DEFAULT_PERIOD
        if form.mode.errors:
            form.mode.data = "test"
    board = merchant_dashboard(
        current_user.merchant_id, form.mode.data, period_key=form.period.data
    )
    return render_template(
        "portal/dashboard/show.html",
        board=board,
        mode=form.mode.data,
        form=form,
        notice=notice,
        chart=outcome_chart(board.days),
    )
