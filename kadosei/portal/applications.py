"""Dashboard, applications and their API keys."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from kadosei.errors import KadoseiError
from kadosei.portal import one_time
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import ActionForm, ApiKeyForm, ApplicationForm
from kadosei.schemas.limits import API_KEY_NAME_MAX, APPLICATION_NAME_MAX
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import ApiKeyCreate, ApplicationCreate, ApplicationUpdate
from kadosei.services import api_keys, applications, provider_accounts


@bp.get("/")
@login_required
def dashboard():
    apps = applications.list_applications(current_user.merchant_id)
    return render_template(
        "portal/applications/index.html",
        applications=apps,
        form=ApplicationForm(),
        live_warning=provider_accounts.live_key_warning(k for a in apps for k in a.api_keys),
    )


@bp.post("/applications")
@login_required
def create_application():
    form = ApplicationForm()
    if form.validate_on_submit():
        data = {"name": form.name.data, "description": form.description.data or None}
        try:
            application = applications.create_application(
                current_user.merchant_id, parse(ApplicationCreate, data), user_id=current_user.id
            )
        except KadoseiError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Application “{application.name}” created.", "success")
            return redirect(url_for("portal.show_application", app_id=application.id))
    else:
        flash(f"Give the application a name (at most {APPLICATION_NAME_MAX} characters).", "error")
    return redirect(url_for("portal.dashboard"))


@bp.get("/applications/<app_id>")
@login_required
def show_application(app_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    return render_template(
        "portal/applications/show.html",
        application=application,
        rename_form=ApplicationForm(obj=application),
        key_form=ApiKeyForm(),
        action_form=ActionForm(),
        live_warning=provider_accounts.live_key_warning(application.api_keys),
    )


@bp.post("/applications/<app_id>/rename")
@login_required
def rename_application(app_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    form = ApplicationForm()
    if form.validate_on_submit():
        data = {"name": form.name.data, "description": form.description.data or None}
        try:
            applications.update_application(application, parse(ApplicationUpdate, data))
            flash("Application updated.", "success")
        except KadoseiError as exc:
            flash(exc.message, "error")
    else:
        flash(f"The name is required (at most {APPLICATION_NAME_MAX} characters).", "error")
    return redirect(url_for("portal.show_application", app_id=app_id))


@bp.post("/applications/<app_id>/archive")
@login_required
def archive_application(app_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    if ActionForm().validate_on_submit():
        applications.archive_application(application, user_id=current_user.id)
        flash("Application archived: its API keys no longer work.", "success")
    return redirect(url_for("portal.show_application", app_id=app_id))


@bp.post("/applications/<app_id>/api_keys")
@login_required
def create_api_key(app_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    form = ApiKeyForm()
    if not form.validate_on_submit():
        flash(f"Choose a mode; the name is at most {API_KEY_NAME_MAX} characters.", "error")
        return redirect(url_for("portal.show_application", app_id=app_id))
    data = {"mode": form.mode.data, "name": form.name.data or None}
    try:
        fields = parse(ApiKeyCreate, data)
        created = api_keys.create_api_key(application, fields, user_id=current_user.id)
    except KadoseiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("portal.show_application", app_id=app_id))
    # Post/redirect/get: the secret rides, sealed, to the next page only; kadosei keeps a digest.
    one_time.keep(_new_key(created.api_key.id), created.secret)
    return redirect(
        url_for("portal.show_new_api_key", app_id=app_id, key_id=created.api_key.id), code=303
    )


@bp.get("/applications/<app_id>/api_keys/<key_id>/new")
@login_required
def show_new_api_key(app_id: str, key_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    key = applications.get_api_key(application, key_id)
    secret = one_time.take(_new_key(key.id))
    if secret is None:
        flash(f"Key {key.hint} was shown once, when it was created, and cannot be again.", "info")
        return redirect(url_for("portal.show_application", app_id=app_id))
    live_warning = provider_accounts.live_mode_warning() if key.mode == "live" else None
    page = render_template(
        "portal/applications/key_created.html",
        application=application,
        api_key=key,
        secret=secret,
        live_warning=live_warning,
    )
    return page, 200, {"Cache-Control": "no-store"}


def _new_key(key_id: str) -> str:
    return f"api_key:{key_id}"


@bp.post("/applications/<app_id>/api_keys/<key_id>/revoke")
@login_required
def revoke_api_key(app_id: str, key_id: str):
    application = applications.get_application(current_user.merchant_id, app_id)
    key = applications.get_api_key(application, key_id)
    if ActionForm().validate_on_submit():
        api_keys.revoke_api_key(key, user_id=current_user.id)
        flash(f"Key {key.hint} revoked. Requests using it now fail.", "success")
    return redirect(url_for("portal.show_application", app_id=app_id))
