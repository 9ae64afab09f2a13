"""Roles (docs/api.md §11): the one mechanism that decides what a user's role may do.

Every portal view and every management (JWT) call is checked here, by its endpoint name,
before it runs: the portal blueprint's ``before_request`` and ``kadosei.api.decorators.
jwt_required`` both call :func:`ensure_permitted`. Nothing is checked per view.

What an endpoint needs:

* a declaration in :data:`ENDPOINT_ROLES`, when there is one; else
* by its HTTP method: reading (GET, HEAD, OPTIONS) is for every role, and any change (POST,
  PUT, PATCH, DELETE) needs ``developer``.

So a new endpoint is covered the day it is added. Declare an endpoint here only when the
default is wrong for it: owner-only pages and calls (team, merchant settings, the audit log),
and changes every signed-in user may make to their own account (log out, their own password
and two-factor) or that are not changes at all. Secrets (webhook signing secrets, API keys)
are shown only by POST actions or on creation, so the method default keeps them from viewers.

The roles are ordered: an owner may do all a developer may, a developer all a viewer may.
Platform operators (``User.is_operator``) are a platform flag, not a role.
"""

from __future__ import annotations

from enum import IntEnum

from kadosei.errors import PermissionDenied


class Role(IntEnum):
    """A merchant role, ordered by what it may do."""

    viewer = 1
    developer = 2
    owner = 3


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHANGE_NEEDS = Role.developer

# Endpoints whose need differs from the method default. Public pages (no signed-in user:
# log-in, sign-up, accepting an invitation) are listed as ``viewer`` so that a signed-in
# person of any role reaches the view, which then decides (usually: a redirect).
ENDPOINT_ROLES: dict[str, Role] = {
    # -- anyone signed in: their own session and account
    "portal.login": Role.viewer,
    "portal.signup": Role.viewer,
    "portal.logout": Role.viewer,
    "portal.accept_invitation": Role.viewer,
    "api.logout": Role.viewer,
    "portal.change_password": Role.viewer,
    "portal.log_out_everywhere": Role.viewer,
    "portal.start_two_factor": Role.viewer,
    "portal.confirm_two_factor": Role.viewer,
    "portal.disable_two_factor": Role.viewer,
    "portal.regenerate_recovery_codes": Role.viewer,
    "portal.forgot_password": Role.viewer,
    "portal.reset_password": Role.viewer,
    "portal.login_second_factor": Role.viewer,
    # -- owners: the team, the merchant's settings, the audit log
    "portal.show_audit_log": Role.owner,
    "portal.invite_team_member": Role.owner,
    "portal.withdraw_invitation": Role.owner,
    "portal.change_team_role": Role.owner,
    "portal.remove_team_member": Role.owner,
    "api.list_audit_events": Role.owner,
    "api.create_invitation": Role.owner,
    "api.withdraw_invitation": Role.owner,
    "api.update_team_user": Role.owner,
    "api.remove_team_user": Role.owner,
    "portal.edit_shop_settings": Role.owner,
    "api.update_merchant": Role.owner,
}


def role_of(user) -> Role:
    """The user's role; an unknown value counts as the least (a viewer)."""
    return Role.__members__.get(getattr(user, "role", None) or "", Role.viewer)


def required_role(endpoint: str | None, method: str) -> Role:
    """What ``method`` on ``endpoint`` needs: its declaration, else the method default."""
    declared = ENDPOINT_ROLES.get(endpoint or "")
    if declared is not None:
        return declared
    return Role.viewer if method.upper() in READING_METHODS else CHANGE_NEEDS


def is_permitted(user, endpoint: str | None, method: str) -> bool:
    return role_of(user) >= required_role(endpoint, method)


def ensure_permitted(user, endpoint: str | None, method: str) -> None:
    """``403 forbidden`` unless ``user``'s role may call ``method`` on ``endpoint``."""
    needed = required_role(endpoint, method)
    if role_of(user) < needed:
        raise PermissionDenied(
            f"Your role ({role_of(user).name}) cannot do this; it needs {needed.name}. "
            "An owner of your account can change your role.",
        )
