"""Portal forms (flask-wtf: CSRF on every one). Business rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


class SignupForm(FlaskForm):
    merchant_name = StringField("Business name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Work e-mail", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=128)])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ")]
    )


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class ActionForm(FlaskForm):
    """A bare form for POST buttons (logout, revoke, archive): CSRF only."""


class ApplicationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=500)])


class ApiKeyForm(FlaskForm):
    mode = SelectField(
        "Mode", choices=[SelectChoice("test", "Test"), SelectChoice("live", "Live")], default="test"
    )
    name = StringField("Name (optional)", validators=[Optional(), Length(max=100)])
