"""The sandbox's forms: the hosted payment page's and the back office's knobs (flask-wtf:
CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class CardPaymentForm(FlaskForm):
    card_number = StringField(
        "Card number", validators=[DataRequired("Enter the card number."), Length(max=40)]
    )


class CustomerActionForm(FlaskForm):
    """Authorize, Fail and Cancel buttons: CSRF only."""


class KnobsForm(FlaskForm):
    enabled = BooleanField("Enabled (offered to routing)")
    down = BooleanField("Down (its API refuses every call)")
    slow_ms = IntegerField("Slow (ms added to every API call)", validators=[InputRequired()])
    error_rate = FloatField("Error rate (0–1 of checkouts)", validators=[InputRequired()])
    success_rate = FloatField("Success rate (0–1 of valid cards)", validators=[InputRequired()])
