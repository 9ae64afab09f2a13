"""Sign-up, log-in (with its two-factor step), log-out and password-reset pages."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kadosei.errors import KadoseiError
from kadosei.extensions import limiter
from kadosei.login_limits import (
    limit_failed_logins,
    limit_failed_second_factor,
    limit_password_reset_requests,
)
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import (
    ActionForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    SecondFactorForm,
    SignupForm,
)
from kadosei.portal.session import load_user
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import NewPassword, Signup
from kadosei.services import accounts, password_reset
from kadosei.services.accounts import end_portal_sessions

SIGNED_UP = (
    "Thank you for signing up. Log in with your e-mail address and password to continue "
    "(if you already had an account with this address, its password is unchanged)."
)


RESET_SENT = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once, for a short while."
)
# The flask session's note of a password that matched, waiting for the second factor.
PENDING_LOGIN = "kadosei_pending_login"
PENDING_SECONDS = 300


def same_site_next(target: str | None) -> str:
    """Where to go after logging in: ``target`` when it is a same-site path ("/…", not "//…")
    of printable characters without spaces or backslashes (browsers drop tabs and newlines
    from a URL and read "\\" as "/", so a host could hide behind them, and a CR/LF cannot go
    into a Location header); anything else goes to the dashboard."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and " " not in target
        and "\\" not in target
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("portal.dashboard")


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("portal.dashboard"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            signup = parse(
                Signup,
                {
                    "name": form.merchant_name.data,
                    "email": form.email.data,
                    "password": form.password.data,
                },
            )
            accounts.sign_up(signup, request.remote_addr)
        except KadoseiError as exc:
            field = {"email": form.email, "password": form.password}.get(exc.param or "")
            if field is not None:
                field.errors.append(exc.message)
            else:
                flash(exc.message, "error")
        else:
            # The same answer whether or not the address already had an account (no enumeration).
            flash(SIGNED_UP, "success")
            return redirect(url_for("portal.login"))
    return render_template("portal/auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_failed_logins
def login():
    if current_user.is_authenticated:
        return redirect(url_for("portal.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            first = accounts.begin_login(form.email.data, form.password.data, request.remote_addr)
        except KadoseiError:
            flash("Invalid e-mail or password.", "error")
            status = 401
        else:
            if not first.complete:
                session[PENDING_LOGIN] = {
                    "session_id": first.user.get_id(),
                    "email": first.user.email,
                    "at": int(time.time()),
                }
                step = url_for("portal.login_second_factor", next=request.args.get("next"))
                return redirect(step)
            session.pop(PENDING_LOGIN, None)
            login_user(first.user)
            return redirect(same_site_next(request.args.get("next")))
    return render_template("portal/auth/login.html", form=form), status


def _pending_email() -> str:
    return (session.get(PENDING_LOGIN) or {}).get("email") or ""


def _pending_user():
    """The user whose password matched in this browser a moment ago, if still pending (not
    logged out everywhere since, nor older than the allowed pause)."""
    pending = session.get(PENDING_LOGIN)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return load_user(str(pending.get("session_id", "")))


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limit_failed_second_factor(_pending_email)
def login_second_factor():
    if current_user.is_authenticated:
        return redirect(url_for("portal.dashboard"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING_LOGIN, None)
        flash("Log in with your e-mail address and password first.", "info")
        return redirect(url_for("portal.login"))
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.finish_login(user, form.otp.data, request.remote_addr)
        except KadoseiError as exc:
            form.otp.errors.append(exc.message)
            status = exc.status
        else:
            session.pop(PENDING_LOGIN, None)
            login_user(user)
            return redirect(same_site_next(request.args.get("next")))
    return render_template("portal/auth/second_factor.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit_password_reset_requests
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_password_reset(form.email.data, request.remote_addr)
        # The same answer whether or not the address has an account (no enumeration).
        flash(RESET_SENT, "success")
        return redirect(url_for("portal.login"))
    return render_template("portal/auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        password_reset.user_for_reset(token)
    except KadoseiError as exc:
        return render_template("portal/auth/reset_link_invalid.html", message=exc.message), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            new = parse(NewPassword, {"password": form.password.data})
            password_reset.reset_password(token, new, request.remote_addr)
        except KadoseiError as exc:
            form.password.errors.append(exc.message)
        else:
            logout_user()
            flash("Your password is changed. Log in with the new one.", "success")
            return redirect(url_for("portal.login"))
    return render_template("portal/auth/reset_password.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    if ActionForm().validate_on_submit():
        end_portal_sessions(current_user)
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("portal.login"))
