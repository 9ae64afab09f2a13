"""Changing the password and logging out everywhere end the user's other sessions and tokens."""

from __future__ import annotations

from account_support import Browser
from sqlalchemy import select

from kadosei.models import AuditEvent
from tests.conftest import HttpsClient
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def _second_browser(app) -> Browser:
    app.test_client_class = HttpsClient
    return Browser(app.test_client())


def _tokens(client, email: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _bearer(pair: dict) -> dict:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.pk)))


def test_changing_the_password_ends_other_sessions_and_tokens_but_not_this_one(
    app, browser, owner, client, db
):
    _, user = owner
    browser.login(user.email)
    elsewhere = _second_browser(app)
    elsewhere.login(user.email)
    pair = _tokens(client, user.email)

    changed = browser.submit(
        "/settings/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert browser.logged_in()
    assert not elsewhere.logged_in()
    assert client.get("/api/v1/merchant", headers=_bearer(pair)).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401
    assert "password.changed" in _actions(db)
    fresh = _second_browser(app)
    assert fresh.login(user.email).status_code == 401
    assert fresh.login(user.email, NEW_PASSWORD).status_code == 302


def test_the_current_password_is_required_to_change_it(browser, owner, client, db):
    _, user = owner
    browser.login(user.email)

    wrong = browser.submit(
        "/settings/password",
        {
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    differing = browser.submit(
        "/settings/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "something else"},
    )
    short = browser.submit(
        "/settings/password", {"current_password": PASSWORD, "new_password": "x", "confirm": "x"}
    )

    assert wrong.status_code == 401
    assert "The current password is not right" in wrong.get_data(as_text=True)
    assert differing.status_code == 400
    assert short.status_code == 400
    assert browser.logged_in()
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        ).status_code
        == 200
    )
    assert "password.change_failed" in _actions(db)


def test_logging_out_everywhere_ends_every_portal_session_and_every_token(
    app, browser, owner, client, db
):
    _, user = owner
    browser.login(user.email)
    elsewhere = _second_browser(app)
    elsewhere.login(user.email)
    first, second = _tokens(client, user.email), _tokens(client, user.email)

    response = browser.submit("/settings/sessions/end", {}, form_on="/settings")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not browser.logged_in()
    assert not elsewhere.logged_in()
    for pair in (first, second):
        assert client.get("/api/v1/merchant", headers=_bearer(pair)).status_code == 401
        again = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401
    assert "logout.everywhere" in _actions(db)
    # Logging in again works as before.
    assert browser.login(user.email).status_code == 302
    assert (
        client.get("/api/v1/merchant", headers=_bearer(_tokens(client, user.email))).status_code
        == 200
    )


def test_logging_out_everywhere_needs_the_csrf_token(browser, owner, client):
    browser.login(owner[1].email)

    response = client.post("/settings/sessions/end")

    assert response.status_code == 400
    assert browser.logged_in()


def test_another_users_change_leaves_my_sessions_alone(app, browser, owner, factories, client):
    _, me = owner
    _, someone = factories.make_merchant()
    browser.login(me.email)
    theirs = _second_browser(app)
    theirs.login(someone.email)
    my_pair = _tokens(client, me.email)

    theirs.submit("/settings/sessions/end", {}, form_on="/settings")

    assert browser.logged_in()
    assert client.get("/api/v1/merchant", headers=_bearer(my_pair)).status_code == 200
