"""The portal's Team, invitation and Audit pages (docs/api.md §8, §11): owners invite (the
link shown once), withdraw, change roles and remove; invited people accept with a name and a
password and are signed in; dead links say why; viewers never see a secret."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from kadosei.models import Invitation, User
from kadosei.models.base import utcnow
from kadosei.schemas.requests import WebhookEndpointCreate
from kadosei.services import webhook_endpoints
from tests.factories import PASSWORD

LINK = re.compile(r"https://kadosei\.test(/invitations/[A-Za-z0-9_\-]+)")


def _invite(portal, email="new@team.example", role="developer"):
    return portal.post_form("/team/invitations", {"email": email, "role": role}, token_from="/team")


def _accept(portal, path, name="Grace Hopper", password=PASSWORD, confirm=None):
    data = {"name": name, "password": password, "confirm": confirm or password}
    return portal.post_form(path, data)


def test_an_owner_invites_and_sees_the_link_once(client, crew, portal_as, db):
    portal = portal_as(crew.owner)

    response = _invite(portal, "grace@team.example", "viewer")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    match = LINK.search(page)
    assert match and "shown only now" in page
    assert LINK.search(client.get("/team").get_data(as_text=True)) is None
    listed = client.get("/team").get_data(as_text=True)
    assert "grace@team.example" in listed and "Withdraw" in listed


def test_the_invite_form_says_what_is_wrong(crew, portal_as):
    portal = portal_as(crew.owner)
    bad = _invite(portal, "not-an-address")
    member = _invite(portal, crew.viewer.email)

    assert bad.status_code == 400 and "Invalid email address" in bad.get_data(as_text=True)
    assert member.status_code == 422
    assert "already on your team" in member.get_data(as_text=True)
    assert _invite(portal, "a@team.example", "admin").status_code == 400


def test_accepting_in_the_browser_signs_the_new_member_in(client, crew, portal_as, portal, db):
    path = LINK.search(_invite(portal_as(crew.owner)).get_data(as_text=True)).group(1)
    client.delete_cookie("session")  # the invitee's own browser

    page = client.get(path).get_data(as_text=True)
    assert crew.merchant.name in page and "developer" in page
    assert "<span>Your name</span>" in page and 'autocomplete="new-password"' in page
    short = _accept(portal, path, password="short")
    differ = _accept(portal, path, confirm="another password!")
    assert short.status_code == 400 and "between 10 and 128" in short.get_data(as_text=True)
    assert differ.status_code == 400 and "Passwords differ" in differ.get_data(as_text=True)

    joined = _accept(portal, path)

    assert joined.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@team.example"))
    assert (user.role, user.name, user.merchant_id) == (
        "developer",
        "Grace Hopper",
        crew.merchant.id,
    )
    assert "new@team.example" in client.get("/team").get_data(as_text=True)
    client.delete_cookie("session")
    used = client.get(path)
    assert used.status_code == 410 and "already used" in used.get_data(as_text=True)


def test_a_signed_in_person_is_asked_to_log_out_first(client, crew, portal_as):
    path = LINK.search(_invite(portal_as(crew.owner)).get_data(as_text=True)).group(1)

    page = client.get(path).get_data(as_text=True)

    assert "Log out first" in page and 'name="password"' not in page


def test_expired_and_withdrawn_links_say_so(client, crew, portal_as, db):
    portal = portal_as(crew.owner)
    expired = LINK.search(_invite(portal, "old@team.example").get_data(as_text=True)).group(1)
    withdrawn = LINK.search(_invite(portal, "gone@team.example").get_data(as_text=True)).group(1)
    db.session.execute(
        Invitation.__table__.update()
        .where(Invitation.email == "old@team.example")
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.email == "gone@team.example")
    )
    portal.post_form(f"/team/invitations/{invitation.id}/withdraw", {}, token_from="/team")
    client.delete_cookie("session")

    for path, word in ((expired, "expired"), (withdrawn, "withdrawn")):
        page = client.get(path)
        assert page.status_code == 410 and word in page.get_data(as_text=True)
        posted = client.post(path, data={"name": "X", "password": PASSWORD, "confirm": PASSWORD})
        assert posted.status_code in (400, 410)  # no CSRF token: refused before anything
    assert db.session.scalar(select(User).where(User.email.in_(["old@team.example"]))) is None


def test_an_owner_changes_roles_and_removes_people(client, crew, portal_as, db):
    portal = portal_as(crew.owner)
    viewer_id, developer_id = crew.viewer.id, crew.developer.id

    portal.post_form(f"/team/users/{viewer_id}/role", {"role": "developer"}, token_from="/team")
    removed = portal.post_form(f"/team/users/{developer_id}/remove", {}, token_from="/team")

    assert removed.status_code == 302
    assert db.session.scalar(select(User.role).where(User.id == viewer_id)) == "developer"
    assert db.session.scalar(select(User).where(User.id == developer_id)) is None
    page = client.get("/team").get_data(as_text=True)
    assert "Removed: their sessions and tokens stopped working." in page


def test_the_portal_keeps_the_last_owner(client, crew, portal_as, db):
    portal = portal_as(crew.owner)
    owner_id = crew.owner.id

    portal.post_form(f"/team/users/{owner_id}/role", {"role": "viewer"}, token_from="/team")
    portal.post_form(f"/team/users/{owner_id}/remove", {}, token_from="/team")

    page = client.get("/team").get_data(as_text=True)
    assert "keeps at least one owner" in page
    assert db.session.scalar(select(User.role).where(User.id == owner_id)) == "owner"


def test_an_owner_who_leaves_is_signed_out(client, crew, portal_as, db):
    portal = portal_as(crew.owner)
    owner_id, developer_id = crew.owner.id, crew.developer.id
    portal.post_form(f"/team/users/{developer_id}/role", {"role": "owner"}, token_from="/team")

    left = portal.post_form(f"/team/users/{owner_id}/remove", {}, token_from="/team")

    assert left.status_code == 302 and left.headers["Location"].endswith("/login")
    assert client.get("/team").status_code == 302
    assert db.session.scalar(select(User).where(User.id == owner_id)) is None


def test_another_merchants_people_are_404_in_the_portal(crew, portal_as, factories):
    _, other_owner = factories.make_merchant()
    portal = portal_as(crew.owner)

    role = portal.post_form(
        f"/team/users/{other_owner.id}/role", {"role": "viewer"}, token_from="/team"
    )
    gone = portal.post_form(f"/team/users/{other_owner.id}/remove", {}, token_from="/team")

    assert role.status_code == 404 and gone.status_code == 404


def _endpoint(crew, factories):
    application = factories.make_application(crew.merchant)
    endpoint = webhook_endpoints.create_endpoint(
        application, WebhookEndpointCreate(url="https://hooks.shop.example/k", mode="test")
    )
    return f"/applications/{application.id}/webhooks/{endpoint.id}", endpoint.secret


def test_a_viewer_cannot_reveal_a_webhook_secret(client, crew, portal_as, factories):
    page, secret = _endpoint(crew, factories)
    portal = portal_as(crew.viewer)

    shown = client.get(page).get_data(as_text=True)
    reveal = portal.post_form(f"{page}/secret", {}, token_from=page)

    assert secret not in shown and "Reveal" not in shown and "Rotate" not in shown
    assert reveal.status_code == 403 and secret not in reveal.get_data(as_text=True)


def test_a_developer_reveals_the_webhook_secret(crew, portal_as, factories):
    page, secret = _endpoint(crew, factories)
    portal = portal_as(crew.developer)

    reveal = portal.post_form(f"{page}/secret", {}, token_from=page)
    shown = portal.client.get(reveal.headers["Location"])  # post/redirect/get

    assert reveal.status_code == 303
    assert shown.status_code == 200 and secret in shown.get_data(as_text=True)


def test_the_audit_page_shows_owners_who_did_what(client, crew, portal_as):
    portal = portal_as(crew.owner)
    _invite(portal, "audit@team.example")

    page = client.get("/audit").get_data(as_text=True)

    assert "team.invitation_created" in page and "login.succeeded" in page
    assert crew.owner.email in page and "audit@team.example" in page


def test_the_audit_page_pages(client, crew, portal_as, db):
    from kadosei.services.audit import record_audit

    for n in range(60):
        record_audit("test.event", merchant_id=crew.merchant.id, target=f"t{n}")
    db.session.commit()
    portal_as(crew.owner)

    first = client.get("/audit").get_data(as_text=True)
    more = re.search(r'href="(/audit\?starting_after=aud_[0-9A-Za-z]+)"', first)

    assert more
    second = client.get(more.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "merchant.signup" in second.get_data(as_text=True)
    assert client.get("/audit?starting_after=aud_nope").status_code == 404


def test_developers_cannot_open_the_audit_page(client, crew, portal_as):
    portal_as(crew.developer)
    response = client.get("/audit")
    assert response.status_code == 403
    assert "Your role does not allow this" in response.get_data(as_text=True)
