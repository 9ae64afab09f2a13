"""Portal applications and API keys: create, rename, archive; a key's secret shown once."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from kadosei.models import ApiKey, Application
from kadosei.services.api_keys import key_digest


@pytest.fixture
def signed_in(portal, factories):
    merchant, user = factories.make_merchant()
    portal.login(user.email)
    return merchant, user


def _create_key(portal, app_id: str, mode: str = "test", name: str = "server"):
    return portal.post_form(
        f"/applications/{app_id}/api_keys",
        {"mode": mode, "name": name},
        token_from=f"/applications/{app_id}",
    )


def test_creating_an_application_opens_its_page(portal, signed_in, db):
    response = portal.post_form("/applications", {"name": "Web store"}, token_from="/")

    application = db.session.scalar(select(Application))
    assert application.merchant_id == signed_in[0].id
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{application.id}")


def test_application_form_without_csrf_changes_nothing(client, signed_in, factories, db):
    application = factories.make_application(signed_in[0], name="Before")

    client.post("/applications", data={"name": "New"})
    client.post(f"/applications/{application.id}/rename", data={"name": "After"})
    client.post(f"/applications/{application.id}/archive", data={"csrf_token": "nope"})
    client.post(f"/applications/{application.id}/api_keys", data={"mode": "test"})

    db.session.expire_all()
    assert db.session.scalars(select(Application)).all() == [application]
    assert application.name == "Before"
    assert not application.archived
    assert db.session.scalar(select(ApiKey)) is None


def test_rename_and_archive_an_application(portal, signed_in, factories, db):
    application = factories.make_application(signed_in[0])
    page = f"/applications/{application.id}"

    portal.post_form(f"{page}/rename", {"name": "Renamed", "description": "d"}, token_from=page)
    portal.post_form(f"{page}/archive", {}, token_from=page)

    db.session.expire_all()
    assert application.name == "Renamed"
    assert application.archived


def test_key_secret_is_shown_once_and_only_its_digest_is_stored(portal, signed_in, factories, db):
    application = factories.make_application(signed_in[0])

    created = _create_key(portal, application.id)
    assert created.status_code == 303  # post/redirect/get: a reload never posts again
    app = portal.client.application
    cookie = app.session_interface.get_signing_serializer(app).loads(
        portal.client.get_cookie("session").value
    )
    response = portal.client.get(created.headers["Location"])

    html = response.get_data(as_text=True)
    key = db.session.scalar(select(ApiKey))
    secret = next(
        word
        for word in html.replace("<", " ").replace(">", " ").split()
        if word.startswith("ks_test_") and "…" not in word
    )
    assert response.status_code == 200
    assert "only time" in html
    assert key.digest == key_digest(secret)
    stored = [str(value) for value in vars(key).values()]
    assert not any(secret in value for value in stored)
    assert hashlib.sha256(secret.encode()).hexdigest() not in stored
    assert response.headers["Cache-Control"] == "no-store"
    assert cookie.get("kadosei_once") and secret not in repr(cookie)  # sealed, never readable
    # Never again: not on a reload, not on the application page, not on the dashboard.
    reload = portal.client.get(created.headers["Location"])
    assert reload.status_code == 302 and reload.headers["Location"].endswith(application.id)
    for path in (created.headers["Location"], f"/applications/{application.id}", "/"):
        assert secret not in portal.client.get(path).get_data(as_text=True)
    assert key.hint in portal.client.get(f"/applications/{application.id}").get_data(as_text=True)


def test_live_key_can_be_created_and_is_labelled_live(portal, signed_in, factories, db):
    application = factories.make_application(signed_in[0])

    created = _create_key(portal, application.id, mode="live")
    html = portal.client.get(created.headers["Location"]).get_data(as_text=True)

    assert "ks_live_" in html
    assert db.session.scalar(select(ApiKey)).mode == "live"


def test_revoking_a_key_in_the_portal_revokes_it(portal, signed_in, factories, db):
    application = factories.make_application(signed_in[0])
    key, _ = factories.make_api_key(application)
    page = f"/applications/{application.id}"

    portal.post_form(f"{page}/api_keys/{key.id}/revoke", {}, token_from=page)

    db.session.expire_all()
    assert key.revoked


def test_another_merchants_application_is_not_found_in_the_portal(portal, signed_in, factories, db):
    other = factories.make_application(name="Theirs")
    key, _ = factories.make_api_key(other)
    page = f"/applications/{other.id}"
    token = portal.token("/")

    assert portal.client.get(page).status_code == 404
    for action in ("rename", "archive", "api_keys", f"api_keys/{key.id}/revoke"):
        data = {"csrf_token": token, "name": "Mine now", "mode": "test"}
        assert portal.client.post(f"{page}/{action}", data=data).status_code == 404
    db.session.expire_all()
    assert other.name == "Theirs"
    assert not other.archived
    assert not key.revoked
    assert len(db.session.scalars(select(ApiKey)).all()) == 1


def test_dashboard_lists_only_the_merchants_applications(portal, signed_in, factories):
    factories.make_application(signed_in[0], name="Mine")
    factories.make_application(name="Not mine")

    html = portal.client.get("/").get_data(as_text=True)

    assert "Mine" in html
    assert "Not mine" not in html


def test_dashboard_without_applications_shows_an_empty_state(portal, signed_in):
    assert "No applications yet" in portal.client.get("/").get_data(as_text=True)
