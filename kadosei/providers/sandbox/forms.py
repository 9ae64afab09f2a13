"""The hosted payment page's forms (flask-wtf: CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class CardPaymentForm(FlaskForm):
    card_number = StringField(
        "Card number", validators=[DataRequired("Enter the card number."), Length(max=40)]
    )


class CustomerActionForm(FlaskForm):
    """Authorize, Fail and Cancel buttons: CSRF only."""
