"""Account settings: the shop's name and support e-mail (owners); for every user their
password, two-factor authentication and logging out everywhere."""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kadosei.errors import KadoseiError
from kadosei.login_limits import limit_failed_token_use
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import (
    ActionForm,
    MerchantSettingsForm,
    PasswordChangeForm,
    SecondFactorForm,
    TwoFactorConfirmForm,
    TwoFactorDisableForm,
)
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import MerchantUpdate, PasswordChange
from kadosei.services import accounts, merchants, two_factor


@bp.get("/settings")
@login_required
def show_settings():
    return render_template(
        "portal/settings/index.html",
        merchant=current_user.merchant,
        recovery_codes_left=two_factor.unused_recovery_codes(current_user),
    )


@bp.route("/settings/shop", methods=["GET", "POST"])
@login_required
def edit_shop_settings():
    merchant = current_user.merchant
    form = MerchantSettingsForm(obj=merchant)
    if form.validate_on_submit():
        data = {"name": form.name.data, "support_email": form.support_email.data or None}
        try:
            changes = parse(MerchantUpdate, data)
            merchants.update_merchant(
                merchant, changes, user_id=current_user.id, ip=request.remote_addr
            )
        except KadoseiError as exc:
            _show_error(exc, {"name": form.name, "support_email": form.support_email})
        else:
            flash("Shop settings saved.", "success")
            return redirect(url_for("portal.show_settings"))
    status = 400 if form.errors else 200
    return render_template("portal/settings/shop.html", form=form), status


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
@limit_failed_token_use
def change_password():
    form = PasswordChangeForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        data = {
            "current_password": form.current_password.data,
            "new_password": form.new_password.data,
        }
        try:
            accounts.change_password(current_user, parse(PasswordChange, data), request.remote_addr)
        except KadoseiError as exc:
            fields = {"current_password": form.current_password, "new_password": form.new_password}
            _show_error(exc, fields)
            status = exc.status
        else:
            login_user(current_user._get_current_object())  # this session, under the new nonce
            flash("Password changed. Your other sessions and API tokens have ended.", "success")
            return redirect(url_for("portal.show_settings"))
    return render_template("portal/settings/password.html", form=form), status


@bp.post("/settings/sessions/end")
@login_required
def log_out_everywhere():
    if ActionForm().validate_on_submit():
        accounts.log_out_everywhere(current_user, request.remote_addr)
        logout_user()
        flash("You are logged out everywhere: every session and API token has ended.", "info")
        return redirect(url_for("portal.login"))
    return redirect(url_for("portal.show_settings"))


@bp.get("/settings/two-factor")
@login_required
def show_two_factor():
    return _two_factor_page(TwoFactorConfirmForm(), TwoFactorDisableForm())


@bp.post("/settings/two-factor/start")
@login_required
def start_two_factor():
    if ActionForm().validate_on_submit():
        try:
            two_factor.start_enrolment(current_user)
        except KadoseiError as exc:
            flash(exc.message, "error")
    return redirect(url_for("portal.show_two_factor"))


@bp.post("/settings/two-factor/confirm")
@login_required
@limit_failed_token_use
def confirm_two_factor():
    form = TwoFactorConfirmForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(current_user, form.code.data, request.remote_addr)
        except KadoseiError as exc:
            form.code.errors.append(exc.message)
            return _two_factor_page(form, TwoFactorDisableForm(), exc.status)
        return render_template("portal/settings/recovery_codes.html", codes=codes)
    return _two_factor_page(form, TwoFactorDisableForm(), 400)


@bp.post("/settings/two-factor/recovery-codes")
@login_required
@limit_failed_token_use
def regenerate_recovery_codes():
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_recovery_codes(
                current_user, form.otp.data, request.remote_addr
            )
        except KadoseiError as exc:
            form.otp.errors.append(exc.message)
            return _two_factor_page(
                TwoFactorConfirmForm(), TwoFactorDisableForm(), exc.status, form
            )
        return render_template("portal/settings/recovery_codes.html", codes=codes, renewed=True)
    return _two_factor_page(TwoFactorConfirmForm(), TwoFactorDisableForm(), 400, form)


@bp.post("/settings/two-factor/disable")
@login_required
@limit_failed_token_use
def disable_two_factor():
    form = TwoFactorDisableForm()
    if form.validate_on_submit():
        try:
            accounts.disable_two_factor(
                current_user, form.password.data, form.code.data, request.remote_addr
            )
        except KadoseiError as exc:
            _show_error(exc, {"password": form.password, "code": form.code})
            return _two_factor_page(TwoFactorConfirmForm(), form, exc.status)
        flash("Two-factor authentication is off.", "success")
        return redirect(url_for("portal.show_two_factor"))
    return _two_factor_page(TwoFactorConfirmForm(), form, 400)


def _two_factor_page(confirm_form, disable_form, status: int = 200, codes_form=None):
    enrolment = two_factor.pending_enrolment(current_user)
    return render_template(
        "portal/settings/two_factor.html",
        enrolment=enrolment,
        qr_code=_qr_data_uri(enrolment.uri) if enrolment else None,
        recovery_codes_left=two_factor.unused_recovery_codes(current_user),
        confirm_form=confirm_form,
        disable_form=disable_form,
        codes_form=codes_form or SecondFactorForm(),
    ), status


def _qr_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI: an image the CSP allows (``img-src
    data:``), with no script and no inline style; white around it so dark themes scan too."""
    return segno.make(text, error="m", micro=False).svg_data_uri(light="#fff", omitsize=True)


def _show_error(exc: KadoseiError, fields: dict) -> None:
    """Put a service's error on the form field it names, else flash it."""
    field = fields.get(exc.param or "")
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")
