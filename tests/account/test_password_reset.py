"""Forgot password: the same answer for every address, a signed single-use short-lived link by
mail (through a real SMTP conversation, or the log in development), then a new password that
ends every session and token."""

from __future__ import annotations

import time

import pytest
from account_support import Browser, reset_path_in, run_jobs
from sqlalchemy import select

from kadosei.models import AuditEvent
from tests.conftest import HttpsClient
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def _ask_for_link(browser: Browser, email: str):
    return browser.submit("/password/forgot", {"email": email})


def _mailed_reset_path(sink, address: str) -> str:
    (message,) = [m for m in sink.messages if m["To"] == address]
    assert message["Subject"] == "Reset your kadosei password"
    assert message["From"] == "kadosei <no-reply@kadosei.test>"
    return reset_path_in(message.get_content())


def test_the_login_page_links_to_the_forgotten_password_form(client):
    page = client.get("/login").get_data(as_text=True)

    assert 'href="/password/forgot"' in page
    assert "Forgot password?" in page


def test_a_reset_link_comes_by_mail_and_sets_a_new_password(app, browser, owner, smtp_sink, db):
    _, user = owner
    elsewhere = Browser(_client(app))
    elsewhere.login(user.email)
    pair = elsewhere.client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    ).get_json()

    asked = _ask_for_link(browser, user.email.upper())
    run_jobs(app)

    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login"
    assert smtp_sink.envelopes[0][1] == [user.email]
    path = _mailed_reset_path(smtp_sink, user.email)
    form = browser.client.get(path)
    assert form.status_code == 200
    assert 'autocomplete="new-password"' in form.get_data(as_text=True)
    done = browser.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"
    assert not elsewhere.logged_in()
    merchant = elsewhere.client.get(
        "/api/v1/merchant", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert merchant.status_code == 401
    assert browser.login(user.email).status_code == 401
    assert browser.login(user.email, NEW_PASSWORD).status_code == 302
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"password_reset.requested", "password.reset"} <= actions


def test_in_development_the_reset_mail_goes_to_the_log(app, browser, owner, mail_log):
    app.config["MAIL_SMTP_URL"] = None
    _, user = owner

    _ask_for_link(browser, user.email)
    run_jobs(app)

    (line,) = [line for line in mail_log if "KADOSEI_SMTP_URL is unset" in line]
    assert user.email in line
    path = reset_path_in(line)
    assert (
        browser.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    )
    assert browser.login(user.email, NEW_PASSWORD).status_code == 302


def test_in_production_without_smtp_the_log_never_holds_the_link(app, browser, owner, mail_log):
    app.config["MAIL_SMTP_URL"] = None
    app.config["KADOSEI_ENV"] = "production"
    _, user = owner

    _ask_for_link(browser, user.email)
    run_jobs(app)

    assert any("not sent" in line for line in mail_log)
    assert not any("/password/reset/" in line for line in mail_log)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, owner, smtp_sink):
    _, user = owner
    known = Browser(_client(app, "10.0.0.1"))
    unknown = Browser(_client(app, "10.0.0.2"))

    a = _ask_for_link(known, user.email)
    b = _ask_for_link(unknown, "nobody@example.com")
    run_jobs(app)

    assert (a.status_code, a.headers["Location"]) == (b.status_code, b.headers["Location"])
    assert {name for name, _ in a.headers} == {name for name, _ in b.headers}
    for browser in (known, unknown):
        page = browser.client.get("/login").get_data(as_text=True)
        assert "If an account uses that address, we have sent it a link" in page
    assert [m["To"] for m in smtp_sink.messages] == [user.email]


def test_a_reset_link_works_once(app, browser, owner, smtp_sink):
    _, user = owner
    _ask_for_link(browser, user.email)
    run_jobs(app)
    path = _mailed_reset_path(smtp_sink, user.email)

    first = browser.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = browser.client.get(path)
    replayed = browser.client.post(path, data={"password": "another passphrase!"})

    assert first.status_code == 302
    assert again.status_code == 400
    assert "not valid or was already used" in again.get_data(as_text=True)
    assert replayed.status_code == 400
    assert browser.login(user.email, NEW_PASSWORD).status_code == 302


def test_an_older_link_stops_working_once_a_newer_one_was_used(app, browser, owner, smtp_sink):
    _, user = owner
    _ask_for_link(browser, user.email)
    _ask_for_link(browser, user.email)
    run_jobs(app)
    first, second = (reset_path_in(m.get_content()) for m in smtp_sink.messages)

    browser.submit(second, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert browser.client.get(first).status_code == 400


def test_a_reset_link_expires(app, browser, owner, smtp_sink):
    app.config["PASSWORD_RESET_TTL"] = 1
    _, user = owner
    _ask_for_link(browser, user.email)
    run_jobs(app)
    path = _mailed_reset_path(smtp_sink, user.email)

    time.sleep(2.1)
    response = browser.client.get(path)

    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert browser.login(user.email).status_code == 302


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: token.split(".", 1)[1],
        lambda token: "a" * 600,
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_reset_link_is_refused(app, browser, owner, smtp_sink, tamper):
    _, user = owner
    _ask_for_link(browser, user.email)
    run_jobs(app)
    token = _mailed_reset_path(smtp_sink, user.email).rsplit("/", 1)[1]

    path = "/password/reset/" + tamper(token)
    shown = browser.client.get(path)
    posted = browser.client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert shown.status_code == 400
    assert posted.status_code == 400
    assert browser.login(user.email).status_code == 302


def test_asking_for_links_is_throttled_per_address(app, owner):
    _, user = owner
    answers = [
        _ask_for_link(Browser(_client(app, f"10.0.1.{n}")), user.email).status_code
        for n in range(7)
    ]

    assert answers[:5] == [302] * 5
    assert answers[5:] == [429, 429]


def test_asking_for_links_is_throttled_per_client(app):
    browser = Browser(_client(app, "10.0.2.1"))
    answers = [_ask_for_link(browser, f"person{n}@example.com").status_code for n in range(7)]

    assert answers[:5] == [302] * 5
    assert answers[5] == 429


def test_the_new_password_must_be_long_enough(app, browser, owner, smtp_sink):
    _, user = owner
    _ask_for_link(browser, user.email)
    run_jobs(app)
    path = _mailed_reset_path(smtp_sink, user.email)

    short = browser.submit(path, {"password": "short", "confirm": "short"})

    assert short.status_code == 200
    assert browser.login(user.email).status_code == 302
    # The link was not spent by the refused attempt.
    assert browser.client.get(path).status_code == 200


def _client(app, address: str = "127.0.0.1"):
    app.test_client_class = HttpsClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client
