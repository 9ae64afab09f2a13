"""The team page (owners manage: invite, withdraw, change roles, remove; everyone sees), the
public page that accepts an invitation, and the owners' audit log (docs/api.md §11). Who may
open or post what is ``kadosei.permissions``'s to say (the blueprint checks it)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kadosei.errors import KadoseiError, NotFound
from kadosei.extensions import limiter
from kadosei.portal import audit_words
from kadosei.portal.blueprint import bp
from kadosei.portal.forms import AcceptInvitationForm, ActionForm, InvitationForm, RoleForm
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import InvitationAccept, InvitationCreate, PageQuery
from kadosei.services import audit, team
from kadosei.services.team import NewInvitation

AUDIT_PAGE_SIZE = 50


def _accept_limit() -> str:
    """Accepting hashes a new password, as sign-up does: the same limit per address."""
    return current_app.config["SIGNUP_RATE_LIMIT"]


def _render_team(
    invite_form: InvitationForm | None = None,
    new_invitation: NewInvitation | None = None,
    status: int = 200,
):
    return render_template(
        "portal/team/index.html",
        team=team.list_team(current_user.merchant_id),
        invite_form=invite_form or InvitationForm(),
        new_invitation=new_invitation,
        action_form=ActionForm(),
    ), status


@bp.get("/team")
@login_required
def show_team():
    return _render_team()


@bp.post("/team/invitations")
@login_required
def invite_team_member():
    form = InvitationForm()
    if not form.validate_on_submit():
        return _render_team(invite_form=form, status=400)
    try:
        fields = parse(InvitationCreate, {"email": form.email.data, "role": form.role.data})
        created = team.invite(
            current_user.merchant_id, fields, user_id=current_user.id, ip=request.remote_addr
        )
    except KadoseiError as exc:
        (form.role if exc.param == "role" else form.email).errors.append(exc.message)
        return _render_team(invite_form=form, status=exc.status)
    # The link is in this response only: the database keeps a digest of it.
    return _render_team(new_invitation=created)


@bp.post("/team/invitations/<inv_id>/withdraw")
@login_required
def withdraw_invitation(inv_id: str):
    if ActionForm().validate_on_submit():
        try:
            invitation = team.withdraw_invitation(
                current_user.merchant_id, inv_id, user_id=current_user.id, ip=request.remote_addr
            )
            flash(f"Invitation to {invitation.email} withdrawn: its link stops working.", "success")
        except NotFound:
            raise
        except KadoseiError as exc:
            flash(exc.message, "error")
    return redirect(url_for("portal.show_team"))


@bp.post("/team/users/<usr_id>/role")
@login_required
def change_team_role(usr_id: str):
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose owner, developer or viewer.", "error")
        return redirect(url_for("portal.show_team"))
    try:
        member = team.change_role(
            current_user.merchant_id,
            usr_id,
            form.role.data,
            user_id=current_user.id,
            ip=request.remote_addr,
        )
        flash(f"{member.email} is now {member.role}.", "success")
    except NotFound:
        raise
    except KadoseiError as exc:
        flash(exc.message, "error")
    return redirect(url_for("portal.show_team"))


@bp.post("/team/users/<usr_id>/remove")
@login_required
def remove_team_member(usr_id: str):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("portal.show_team"))
    myself = usr_id == current_user.id
    try:
        team.remove_user(
            current_user.merchant_id, usr_id, user_id=current_user.id, ip=request.remote_addr
        )
    except NotFound:
        raise
    except KadoseiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("portal.show_team"))
    if myself:
        logout_user()
        flash("You left the team.", "info")
        return redirect(url_for("portal.login"))
    flash("Removed: their sessions and tokens stopped working.", "success")
    return redirect(url_for("portal.show_team"))


@bp.get("/audit")
@login_required
def show_audit_log():
    query = parse(PageQuery, {"starting_after": request.args.get("starting_after") or None})
    page = audit.page_audit_events(
        current_user.merchant_id, limit=AUDIT_PAGE_SIZE, starting_after=query.starting_after
    )
    next_url = None
    if page.has_more:
        next_url = url_for("portal.show_audit_log", starting_after=page.items[-1].id)
    return render_template(
        "portal/team/audit.html",
        page=page,
        emails=audit.actor_emails(current_user.merchant_id, page.items),
        next_url=next_url,
        words=audit_words,
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit(_accept_limit, methods=["POST"])
def accept_invitation(token: str):
    try:
        invitation = team.find_invitation_by_token(token)
    except KadoseiError as exc:
        return _unusable(exc)
    if current_user.is_authenticated:
        return render_template(
            "portal/team/accept.html", invitation=invitation, form=None, signed_in=True
        )
    form = AcceptInvitationForm()
    status = 200
    if form.validate_on_submit():
        try:
            data = {"name": form.name.data, "password": form.password.data}
            fields = parse(InvitationAccept, data)
            user = team.accept_invitation(token, fields, ip=request.remote_addr)
        except KadoseiError as exc:
            field = {"name": form.name, "password": form.password}.get(exc.param or "")
            if field is None:
                return _unusable(exc)
            field.errors.append(exc.message)
            status = 400
        else:
            login_user(user)
            flash(f"Welcome to {invitation.merchant.name}'s team.", "success")
            return redirect(url_for("portal.dashboard"))
    elif form.is_submitted():
        status = 400
    return render_template(
        "portal/team/accept.html", invitation=invitation, form=form, signed_in=False
    ), status


def _unusable(error: KadoseiError):
    """Expired, used, withdrawn or unknown links: a page that says which, and what to do."""
    status = 404 if isinstance(error, NotFound) else 410
    if error.code == "email_taken":
        status = 409
    return render_template("portal/team/invitation_unusable.html", message=error.message), status
