"""Portal forms (flask-wtf: CSRF on every one). Business rules live in the services; the
limits are the API's (``kadosei.schemas.limits``), so a form refuses what the API refuses."""

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

from kadosei.currencies import parse_amount
from kadosei.schemas.limits import (
    AMOUNT_MAX,
    API_KEY_NAME_MAX,
    APPLICATION_DESCRIPTION_MAX,
    APPLICATION_NAME_MAX,
    EMAIL_MAX,
    LOGIN_PASSWORD_MAX,
    MERCHANT_NAME_MAX,
    OTP_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PERSON_NAME_MAX,
)
from kadosei.schemas.vocabulary import REFUND_REASONS, ROLES

ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in ROLES]


class SignupForm(FlaskForm):
    merchant_name = StringField(
        "Business name", validators=[DataRequired(), Length(max=MERCHANT_NAME_MAX)]
    )
    email = EmailField("Work e-mail", validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ")]
    )


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=LOGIN_PASSWORD_MAX)]
    )


class SecondFactorForm(FlaskForm):
    otp = StringField("Authentication code", validators=[DataRequired(), Length(max=OTP_MAX)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=EMAIL_MAX)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", "Passwords differ")],
    )


class MerchantSettingsForm(FlaskForm):
    name = StringField(
        "Shop name (shown to your customers)",
        validators=[DataRequired(), Length(max=MERCHANT_NAME_MAX)],
    )
    support_email = EmailField(
        "Support e-mail (optional)", validators=[Optional(), Email(), Length(max=EMAIL_MAX)]
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=LOGIN_PASSWORD_MAX)]
    )
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "Passwords differ")],
    )


class TwoFactorConfirmForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app", validators=[DataRequired(), Length(max=OTP_MAX)]
    )


class TwoFactorDisableForm(FlaskForm):
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=LOGIN_PASSWORD_MAX)]
    )
    code = StringField(
        "Authentication or recovery code", validators=[DataRequired(), Length(max=OTP_MAX)]
    )


class ActionForm(FlaskForm):
    """A bare form for POST buttons (logout, revoke, archive): CSRF only."""


class ApplicationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=APPLICATION_NAME_MAX)])
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=APPLICATION_DESCRIPTION_MAX)]
    )


class ApiKeyForm(FlaskForm):
    mode = SelectField(
        "Mode", choices=[SelectChoice("test", "Test"), SelectChoice("live", "Live")], default="test"
    )
    name = StringField("Name (optional)", validators=[Optional(), Length(max=API_KEY_NAME_MAX)])


class InvitationForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="developer")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=PERSON_NAME_MAX)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ")]
    )


class RefundForm(FlaskForm):
    """A payment page's refund: the amount (blank: all that is refundable; minor units or
    19.99) and an optional reason. The rules are the API's (``services.refunds``)."""

    amount = StringField(
        "Amount (blank: all that is refundable)", validators=[Optional(), Length(max=20)]
    )
    reason = SelectField(
        "Reason",
        choices=[
            SelectChoice("", "No reason given"),
            *(SelectChoice(r, r.replace("_", " ").capitalize()) for r in REFUND_REASONS),
        ],
        default="",
    )

    def amount_in_minor_units(self, currency: str) -> int | None:
        """The amount typed, in minor units (``ValueError`` saying why not); None if blank."""
        text = (self.amount.data or "").strip()
        if not text:
            return None
        amount = parse_amount(text, currency)
        if not 1 <= amount <= AMOUNT_MAX:
            raise ValueError(f"A refund is 1 to {AMOUNT_MAX} minor units")
        return amount
