"""The checkout page's forms after a decline (flask-wtf: CSRF on each)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class TryAgainForm(FlaskForm):
    """ "Try again": names the declined attempt it answers, so a second submission of the
    same page starts nothing more."""

    attempt = HiddenField(validators=[DataRequired(), Length(max=40)])


class ReturnToShopForm(FlaskForm):
    """ "Return to the shop": CSRF only."""
