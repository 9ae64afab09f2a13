"""One mechanism for roles (docs/api.md §11), proven over every registered route: a viewer
changes nothing anywhere in the portal or the management API, owners alone reach the team's
changes and the audit log, and a new route is covered by the method default the day it is
added (these tests walk ``app.url_map``, not a list)."""

from __future__ import annotations

import re

import pytest
from team_support import error_of

from kadosei.permissions import ENDPOINT_ROLES, Role, required_role
from kadosei.schemas.vocabulary import ROLES
from tests.foundation.foundation_support import csrf_token

CHANGES = ("POST", "PUT", "PATCH", "DELETE")


def _path(rule) -> str:
    """The rule's URL with every variable filled in (the role check runs before the view)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"{m.group(1)}_x", rule.rule)


def _routes(app, blueprint: str, *, jwt_only: bool = False):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{blueprint}."):
            continue
        view = app.view_functions[rule.endpoint]
        if jwt_only and getattr(view, "authentication", None) != "jwt":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_the_roles_are_the_contracts_and_ordered():
    assert {role.name for role in Role} == set(ROLES)
    assert Role.owner > Role.developer > Role.viewer


def test_every_declared_endpoint_exists(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(ENDPOINT_ROLES) <= registered, set(ENDPOINT_ROLES) - registered


def test_the_default_is_reading_for_all_and_changing_for_developers():
    assert required_role("portal.some_new_page", "GET") is Role.viewer
    for method in CHANGES:
        assert required_role("api.some_new_call", method) is Role.developer


def test_the_management_api_has_jwt_routes_to_walk(app):
    endpoints = {rule.endpoint for rule, _ in _routes(app, "api", jwt_only=True)}
    assert {"api.create_application", "api.create_invitation", "api.get_team"} <= endpoints


def test_a_viewer_is_refused_every_management_change(app, client, crew, factories):
    headers = factories.jwt_headers(crew.viewer)
    walked = 0
    for rule, method in _routes(app, "api", jwt_only=True):
        if method not in CHANGES:
            continue
        response = client.open(_path(rule), method=method, json={}, headers=headers)
        assert response.status_code == 403, (rule.rule, method, response.status_code)
        error = error_of(response)
        assert (error["type"], error["code"]) == ("permission_error", "forbidden"), rule.rule
        walked += 1
    assert walked >= 14  # every change the API has today, and any added later


def test_a_developer_is_refused_exactly_the_owner_only_calls(app, client, crew, factories):
    headers = factories.jwt_headers(crew.developer)
    for rule, method in _routes(app, "api", jwt_only=True):
        if required_role(rule.endpoint, method) is not Role.owner:
            continue
        response = client.open(_path(rule), method=method, json={}, headers=headers)
        assert response.status_code == 403, (rule.rule, method)
        assert error_of(response)["code"] == "forbidden"


def test_every_management_read_but_the_audit_log_is_open_to_viewers(app, client, crew, factories):
    headers = factories.jwt_headers(crew.viewer)
    for rule, method in _routes(app, "api", jwt_only=True):
        if method != "GET":
            continue
        response = client.get(_path(rule), headers=headers)
        if rule.endpoint == "api.list_audit_events":
            assert response.status_code == 403
        else:  # the view ran: 200, or 404 for the made-up ids
            assert response.status_code in (200, 404), (rule.rule, response.status_code)


def test_a_viewer_may_still_log_out_of_the_api(client, crew, factories):
    response = client.post("/api/v1/auth/logout", headers=factories.jwt_headers(crew.viewer))
    assert response.status_code == 204


@pytest.fixture
def viewer_portal(portal_as, crew):
    return portal_as(crew.viewer)


def test_a_viewer_is_refused_every_portal_change(app, client, crew, viewer_portal):
    token = csrf_token(client.get("/team").get_data(as_text=True))
    public = {e for e, role in ENDPOINT_ROLES.items() if role is Role.viewer}
    walked = 0
    for rule, method in _routes(app, "portal"):
        if method not in CHANGES or rule.endpoint in public:
            continue
        response = client.open(_path(rule), method=method, data={"csrf_token": token})
        assert response.status_code == 403, (rule.rule, method, response.status_code)
        page = response.get_data(as_text=True)
        assert "Your role does not allow this" in page and "viewer" in page, rule.rule
        walked += 1
    assert walked >= 15
    # Still signed in and reading: nothing above logged the viewer out.
    assert client.get("/team").status_code == 200


def test_portal_pages_without_ids_open_for_viewers_but_the_owners_pages(app, client, viewer_portal):
    for rule, method in _routes(app, "portal"):
        signing_in = ("login", "signup", "login_second_factor", "forgot_password")
        if method != "GET" or rule.arguments or rule.endpoint.endswith(signing_in):
            continue
        response = client.get(rule.rule)
        owners_only = ("portal.show_audit_log", "portal.edit_shop_settings")
        if rule.endpoint == "portal.list_provider_accounts":  # operators: a platform flag
            continue
        expected = 403 if rule.endpoint in owners_only else 200
        assert response.status_code == expected, (rule.rule, response.status_code)


def test_the_portal_hides_what_a_role_cannot_use(client, crew, factories, portal_as):
    application = factories.make_application(crew.merchant)
    pages = ("/", f"/applications/{application.id}", f"/applications/{application.id}/webhooks")
    forms = ("New application", "Create API key", "/archive", 'action="/applications/')

    portal_as(crew.viewer)
    seen_by_viewer = "".join(client.get(page).get_data(as_text=True) for page in pages)
    team = client.get("/team").get_data(as_text=True)
    client.delete_cookie("session")
    portal_as(crew.developer)
    seen_by_developer = "".join(client.get(page).get_data(as_text=True) for page in pages)

    for form in forms:
        assert form not in seen_by_viewer and form in seen_by_developer, form
    assert 'href="/audit"' not in team and "Invite someone" not in team
    assert "Change role" not in team


def test_an_owner_sees_the_team_controls_and_the_audit_log(client, crew, portal_as):
    portal_as(crew.owner)
    page = client.get("/team").get_data(as_text=True)
    assert 'href="/audit"' in page and "Invite someone" in page and "Change role" in page
    assert client.get("/audit").status_code == 200
