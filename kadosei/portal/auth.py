"""Sign-up, log-in and log-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kadosei.errors import KadoseiError
from kadosei.extensions import limiter
from kadosei.login_limits import limit_failed_logins
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import ActionForm, LoginForm, SignupForm
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import Signup
from kadosei.services import accounts
from kadosei.services.accounts import end_portal_sessions

SIGNED_UP = (
    "Thank you for signing up. Log in with your e-mail address and password to continue "
    "(if you already had an account with this address, its password is unchanged)."
)


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
            user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr)
        except KadoseiError:
            flash("Invalid e-mail or password.", "error")
            status = 401
        else:
            login_user(user)
            return redirect(same_site_next(request.args.get("next")))
    return render_template("portal/auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    if ActionForm().validate_on_submit():
        end_portal_sessions(current_user)
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("portal.login"))
