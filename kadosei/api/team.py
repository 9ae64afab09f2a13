"""Team and audit log (docs/api.md §11), management API (JWT). Which roles may call what is
``kadosei.permissions``'s to say (checked by ``jwt_required``)."""

from __future__ import annotations

from flask import g, request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required
from kadosei.api.request import json_body
from kadosei.representation import (
    serialize_audit_event,
    serialize_deleted_team_user,
    serialize_invitation,
    serialize_list,
    serialize_team,
    serialize_team_user,
)
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import InvitationCreate, PageQuery, TeamUserUpdate
from kadosei.services import audit, team


@bp.get("/team")
@jwt_required
def get_team():
    return serialize_team(team.list_team(g.merchant.id))


@bp.post("/team/invitations")
@jwt_required
def create_invitation():
    fields = parse(InvitationCreate, json_body())
    created = team.invite(g.merchant.id, fields, user_id=g.user.id, ip=request.remote_addr)
    body = serialize_invitation(created.invitation, "pending", accept_url=created.accept_url)
    return body, 201


@bp.delete("/team/invitations/<inv_id>")
@jwt_required
def withdraw_invitation(inv_id: str):
    invitation = team.withdraw_invitation(
        g.merchant.id, inv_id, user_id=g.user.id, ip=request.remote_addr
    )
    return serialize_invitation(invitation, team.invitation_status(invitation))


@bp.patch("/team/users/<usr_id>")
@jwt_required
def update_team_user(usr_id: str):
    role = parse(TeamUserUpdate, json_body()).role
    member = team.change_role(
        g.merchant.id, usr_id, role, user_id=g.user.id, ip=request.remote_addr
    )
    return serialize_team_user(member)


@bp.delete("/team/users/<usr_id>")
@jwt_required
def remove_team_user(usr_id: str):
    removed = team.remove_user(g.merchant.id, usr_id, user_id=g.user.id, ip=request.remote_addr)
    return serialize_deleted_team_user(removed)


@bp.get("/audit_events")
@jwt_required
def list_audit_events():
    query = parse(PageQuery, request.args.to_dict())
    page = audit.page_audit_events(
        g.merchant.id, limit=query.limit, starting_after=query.starting_after
    )
    emails = audit.actor_emails(g.merchant.id, page.items)
    return serialize_list(
        page, lambda event: serialize_audit_event(event, emails.get(event.user_id))
    )
