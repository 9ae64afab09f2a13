"""The team through the management API (docs/api.md §11): invitations (single use, 7 days,
withdrawable), roles, removal that ends tokens and sessions at once, the last owner kept,
another merchant's people out of reach, and bad input answered in the envelope."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from team_support import accept_path, add_member, error_of

from kadosei.models import AuditEvent, Invitation, RefreshToken, User
from kadosei.models.base import utcnow
from kadosei.schemas import responses as rs
from kadosei.services import team
from tests.factories import PASSWORD
from tests.foundation.foundation_support import csrf_token


def _invite(api, email="new@team.example", role="developer"):
    return api.post("/team/invitations", {"email": email, "role": role})


def _accept(client, accept_url: str, name="Grace", password=PASSWORD):
    path = accept_path(accept_url)
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {"name": name, "password": password, "confirm": password}
    data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    return client.post(path, data=data)


def test_an_invitation_is_created_with_a_link_shown_once(client, crew, api_as, db):
    owner = api_as(crew.owner)
    response = _invite(owner, "Grace@Team.Example", "viewer")

    assert response.status_code == 201
    body = rs.NewInvitation.model_validate(response.get_json())
    assert (body.email, body.role, body.status) == ("grace@team.example", "viewer", "pending")
    assert body.accept_url.startswith("https://kadosei.test/invitations/")
    token = accept_path(body.accept_url).rsplit("/", 1)[1]
    stored = db.session.scalar(select(Invitation).where(Invitation.id == body.id))
    assert token not in (stored.token_digest, stored.email) and len(stored.token_digest) == 64
    team = rs.Team.model_validate(owner.get("/team").get_json())
    assert [i.id for i in team.invitations] == [body.id]
    assert "accept_url" not in owner.get("/team").get_json()["invitations"][0]
    members = {crew.owner.email, crew.developer.email, crew.viewer.email}
    assert {u.email for u in team.users} == members
    expires = datetime.strptime(body.expires_at, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(expires - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)


def test_accepting_joins_the_merchant_with_the_role_and_logs_in(client, crew, api_as, db):
    url = _invite(api_as(crew.owner), "ada@team.example", "developer").get_json()["accept_url"]

    response = _accept(client, url, name="Ada Lovelace")

    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ada@team.example"))
    assert (user.merchant_id, user.role) == (crew.merchant.id, "developer")
    assert user.name == "Ada Lovelace"
    assert "ada@team.example" in client.get("/team").get_data(as_text=True)  # signed in
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200


def test_an_invitation_works_once(client, crew, api_as):
    url = _invite(api_as(crew.owner)).get_json()["accept_url"]
    assert _accept(client, url).status_code == 302
    client.delete_cookie("session")  # another browser

    again = client.get(accept_path(url))

    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)


def test_an_expired_invitation_cannot_be_used(client, crew, api_as, db):
    created = _invite(api_as(crew.owner)).get_json()
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == created["id"]))
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    page = client.get(accept_path(created["accept_url"]))

    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert api_as(crew.owner).get("/team").get_json()["invitations"] == []


def test_a_withdrawn_invitation_cannot_be_used(client, crew, api_as, db):
    owner = api_as(crew.owner)
    created = _invite(owner).get_json()

    withdrawn = owner.delete(f"/team/invitations/{created['id']}")

    assert withdrawn.status_code == 200
    assert rs.Invitation.model_validate(withdrawn.get_json()).status == "withdrawn"
    assert owner.delete(f"/team/invitations/{created['id']}").status_code == 200  # idempotent
    page = client.get(accept_path(created["accept_url"]))
    assert page.status_code == 410 and "withdrawn" in page.get_data(as_text=True)
    assert owner.get("/team").get_json()["invitations"] == []
    # A new invitation to the same address can now be sent.
    assert _invite(owner).status_code == 201


def test_an_unknown_link_says_so(client):
    page = client.get("/invitations/not-a-real-token")
    assert page.status_code == 404 and "not valid" in page.get_data(as_text=True)
    assert client.get("/invitations/" + "x" * 500).status_code == 404


def test_an_accepted_invitation_cannot_be_withdrawn(client, crew, api_as):
    owner = api_as(crew.owner)
    created = _invite(owner).get_json()
    _accept(client, created["accept_url"])

    response = owner.delete(f"/team/invitations/{created['id']}")

    assert response.status_code == 422
    assert error_of(response)["code"] == "invitation_accepted"


def test_members_and_pending_addresses_are_not_invited_twice(crew, api_as):
    owner = api_as(crew.owner)
    member = _invite(owner, crew.viewer.email.upper())
    assert member.status_code == 422 and error_of(member)["code"] == "already_a_member"
    assert _invite(owner, "twice@team.example").status_code == 201
    twice = _invite(owner, "twice@team.example", "viewer")
    assert twice.status_code == 422 and error_of(twice)["code"] == "invitation_pending"


def test_an_address_with_an_account_elsewhere_cannot_accept(client, crew, api_as, factories):
    factories.make_merchant(email="taken@else.example")
    url = _invite(api_as(crew.owner), "taken@else.example").get_json()["accept_url"]

    response = _accept(client, url)

    assert response.status_code == 409
    assert "already has a kadosei account" in response.get_data(as_text=True)


def test_changing_a_role_applies_at_the_next_request(crew, api_as):
    owner, viewer = api_as(crew.owner), api_as(crew.viewer)
    assert viewer.post("/applications", {"name": "Shop"}).status_code == 403

    changed = owner.patch(f"/team/users/{crew.viewer.id}", {"role": "developer"})

    assert changed.status_code == 200
    assert rs.TeamUser.model_validate(changed.get_json()).role == "developer"
    assert viewer.post("/applications", {"name": "Shop"}).status_code == 201


def test_the_last_owner_is_kept(crew, api_as):
    owner = api_as(crew.owner)
    demote = owner.patch(f"/team/users/{crew.owner.id}", {"role": "developer"})
    remove = owner.delete(f"/team/users/{crew.owner.id}")

    for response in (demote, remove):
        assert response.status_code == 422
        assert error_of(response)["code"] == "last_owner"
    assert owner.get("/team").status_code == 200  # still an owner, still signed in


def test_with_a_second_owner_the_first_may_step_down(crew, api_as):
    owner = api_as(crew.owner)
    assert owner.patch(f"/team/users/{crew.developer.id}", {"role": "owner"}).status_code == 200

    assert owner.patch(f"/team/users/{crew.owner.id}", {"role": "viewer"}).status_code == 200
    assert owner.get("/audit_events").status_code == 403  # now a viewer
    second = api_as(crew.developer)
    last = second.delete(f"/team/users/{crew.developer.id}")
    assert error_of(last)["code"] == "last_owner"


def test_removing_a_user_ends_their_tokens_and_sessions_at_once(
    client, crew, api_as, db, portal_as
):
    removed = api_as(crew.developer)
    assert removed.get("/applications").status_code == 200
    login = client.post(
        "/api/v1/auth/login", json={"email": crew.developer.email, "password": PASSWORD}
    )
    refresh = login.get_json()["refresh_token"]
    portal_as(crew.developer)  # the client now holds the developer's portal session
    assert client.get("/team").status_code == 200
    user_id = crew.developer.id

    response = api_as(crew.owner).delete(f"/team/users/{user_id}")

    assert response.status_code == 200
    assert rs.DeletedTeamUser.model_validate(response.get_json()).id == user_id
    assert removed.get("/applications").status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    assert client.get("/team").status_code == 302  # the portal session is gone: to log-in
    assert db.session.scalar(select(User).where(User.id == user_id)) is None
    assert db.session.scalar(select(RefreshToken).where(RefreshToken.user_id == user_id)) is None


def test_another_merchants_people_are_out_of_reach(crew, api_as, factories):
    other_merchant, other_owner = factories.make_merchant()
    stranger = add_member(other_merchant.id, other_owner.id, "viewer")
    foreign = api_as(other_owner).post(
        "/team/invitations", {"email": "x@other.example", "role": "viewer"}
    )
    owner = api_as(crew.owner)

    assert owner.patch(f"/team/users/{stranger.id}", {"role": "owner"}).status_code == 404
    assert owner.delete(f"/team/users/{stranger.id}").status_code == 404
    gone = owner.delete(f"/team/invitations/{foreign.get_json()['id']}")
    assert gone.status_code == 404 and error_of(gone)["code"] == "resource_missing"
    listed = owner.get("/team").get_json()
    assert stranger.email not in str(listed) and "x@other.example" not in str(listed)
    assert stranger.id not in str(owner.get("/audit_events?limit=100").get_json())


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "email", "parameter_missing"),
        ({"email": "a@b.example"}, "role", "parameter_missing"),
        ({"email": "not an address", "role": "viewer"}, "email", "parameter_invalid"),
        ({"email": "a@b.example", "role": "admin"}, "role", "parameter_invalid"),
        ({"email": "a@b.example", "role": "viewer", "x": 1}, "x", "parameter_unknown"),
        ({"email": 5, "role": "viewer"}, "email", "parameter_invalid"),
    ],
)
def test_bad_invitations_are_400s(crew, api_as, body, param, code):
    response = api_as(crew.owner).post("/team/invitations", body)
    assert response.status_code == 400
    assert (error_of(response)["param"], error_of(response)["code"]) == (param, code)


def test_bad_role_changes_are_400s_and_unknown_ids_404s(crew, api_as):
    owner = api_as(crew.owner)
    for body in ({}, {"role": "boss"}, {"role": None}, {"role": "viewer", "name": "x"}):
        assert owner.patch(f"/team/users/{crew.viewer.id}", body).status_code == 400, body
    assert owner.patch("/team/users/usr_nope", {"role": "viewer"}).status_code == 404
    assert owner.delete("/team/users/usr_nope").status_code == 404
    assert owner.delete("/team/invitations/inv_nope").status_code == 404
    not_json = owner.call("PATCH", f"/team/users/{crew.viewer.id}", data="role=viewer",
                          headers={"Content-Type": "text/plain"})  # fmt: skip
    assert not_json.status_code == 415


def test_the_audit_log_says_who_did_what_newest_first(client, crew, api_as, db):
    owner = api_as(crew.owner)
    invitation = _invite(owner).get_json()
    owner.patch(f"/team/users/{crew.viewer.id}", {"role": "developer"})
    client.post("/api/v1/auth/login", json={"email": crew.owner.email, "password": "wrong"})

    page = owner.get("/audit_events?limit=3")

    assert page.status_code == 200
    body = rs.AuditEventList.model_validate(page.get_json())
    actions = [event.action for event in body.data]
    assert actions == ["login.failed", "team.role_changed", "team.invitation_created"]
    changed = body.data[1]
    assert (changed.user, changed.user_email, changed.target) == (
        crew.owner.id,
        crew.owner.email,
        crew.viewer.id,
    )
    assert changed.details == {"email": crew.viewer.email, "from": "viewer", "to": "developer"}
    assert body.data[2].target == invitation["id"] and body.has_more
    rest = owner.get(f"/audit_events?limit=100&starting_after={body.data[-1].id}").get_json()
    assert body.data[-1].id not in {e["id"] for e in rest["data"]}
    assert {"team.invitation_accepted", "merchant.signup"} <= {e["action"] for e in rest["data"]}
    assert owner.get("/audit_events?limit=0").status_code == 400
    assert owner.get("/audit_events?starting_after=aud_nope").status_code == 404
    total = db.session.query(AuditEvent).filter_by(merchant_id=crew.merchant.id).count()
    assert len(rest["data"]) + 3 == total


def test_removal_and_invitations_are_audited(crew, api_as):
    owner = api_as(crew.owner)
    viewer_id, viewer_email = crew.viewer.id, crew.viewer.email
    invitation = _invite(owner).get_json()
    owner.delete(f"/team/invitations/{invitation['id']}")
    owner.delete(f"/team/users/{viewer_id}")

    events = owner.get("/audit_events?limit=3").get_json()["data"]

    assert [e["action"] for e in events] == [
        "team.user_removed",
        "team.invitation_withdrawn",
        "team.invitation_created",
    ]
    assert events[0]["target"] == viewer_id
    assert events[0]["details"]["email"] == viewer_email


def test_two_owners_demoting_each_other_at_once_leave_one_owner(app, crew, factories, db):
    """The last-owner rule holds under a race: team changes are serialised per merchant."""
    second = crew.developer
    team.change_role(crew.merchant.id, second.id, "owner", user_id=crew.owner.id)
    pairs = [(crew.owner, second), (second, crew.owner)]
    calls = [(factories.jwt_headers(actor), target.id) for actor, target in pairs]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def demote(headers, target_id):
        client = app.test_client()
        barrier.wait()
        response = client.patch(
            f"/api/v1/team/users/{target_id}",
            json={"role": "viewer"},
            headers=headers,
            base_url="https://localhost",
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=demote, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    db.session.expire_all()
    owners = db.session.scalars(
        select(User).where(User.merchant_id == crew.merchant.id, User.role == "owner")
    ).all()
    assert len(owners) == 1
    assert sorted(statuses) in ([200, 403], [200, 422])  # the loser is no owner any more


def test_removal_deletes_every_row_that_belongs_to_a_user(app):
    """A model with a foreign key to users.id must be in OWNED_BY_USER, or removing a user
    would fail (PostgreSQL) or leave rows behind (SQLite)."""
    from kadosei.extensions import db as _db

    users_id = User.__table__.c.id
    referencing = {
        table.name
        for table in _db.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is users_id
    }
    assert referencing == {model.__table__.name for model in team.OWNED_BY_USER}
