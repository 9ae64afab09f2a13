"""Portal sign-up, log-in, log-out and the CSRF token on every form."""

from __future__ import annotations

import re

import pytest
from foundation_support import Portal, csrf_token
from sqlalchemy import func, select

from kadosei.models import AuditEvent, Merchant, User
from kadosei.schemas.requests import Signup
from kadosei.services import accounts
from tests.factories import PASSWORD


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200 and "Log out" in response.get_data(as_text=True)


def test_signup_creates_merchant_and_owner_who_then_log_in(portal, client, db):
    response = portal.signup("Ada@Example.com")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    user = db.session.scalar(select(User))
    assert user.email == "ada@example.com"
    assert user.merchant.name == "Ada's Shop"
    assert "Log in with your e-mail address" in client.get("/login").get_data(as_text=True)
    assert portal.login("ada@example.com").status_code == 302
    assert _logged_in(client)


def test_signup_without_csrf_token_is_refused_and_creates_nothing(client, db):
    data = {
        "merchant_name": "Shop",
        "email": "eve@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    response = client.post("/signup", data=data)
    wrong = client.post("/signup", data={**data, "csrf_token": "forged"})

    assert response.status_code == 400
    assert wrong.status_code == 400
    assert _count(db, User) == 0
    assert _count(db, Merchant) == 0


def test_signup_with_a_weak_password_shows_the_error(portal, factories, db):
    factories.make_merchant(email="taken@example.com")

    weak = portal.signup("new@example.com", password="short")

    assert weak.status_code == 200
    assert _count(db, User) == 1


def _signup_as_a_stranger(app, email: str, address: str):
    """A first visit's sign-up from a browser (and address) of its own: (the answer, the page
    it leads to)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    browser = Portal(client)
    answer = browser.signup(email)
    return answer, browser.client.get(answer.headers.get("Location", "/signup"))


def _comparable(response) -> tuple:
    """What an outsider sees, less what differs on every request (request id, CSRF token, the
    signed cookie that carries it, the rate-limit window's clock: its reset and Retry-After)."""
    headers = sorted(
        (name, re.sub(r"^session=[^;]*", "session=…", value))
        for name, value in response.headers.items()
        if name not in ("X-Request-Id", "X-RateLimit-Reset", "Retry-After")
    )
    body = _CSRF_VALUE.sub("csrf", response.get_data(as_text=True))
    return response.status_code, headers, body


_CSRF_VALUE = re.compile(r'(?<=name="csrf_token" type="hidden" value=")[^"]+')


def test_signup_with_a_taken_address_looks_like_a_new_one_and_creates_nothing(
    app, client, factories, db
):
    # Log-in never says whether an address has an account; sign-up must not either.
    merchant, owner = factories.make_merchant(email="taken@example.com")

    taken, taken_next = _signup_as_a_stranger(app, "Taken@Example.com", "198.51.100.1")
    new, new_next = _signup_as_a_stranger(app, "new@example.com", "198.51.100.2")

    assert taken.status_code == new.status_code == 302
    assert _comparable(taken) == _comparable(new)
    assert _comparable(taken_next) == _comparable(new_next)
    assert "already exists" not in taken_next.get_data(as_text=True)
    assert _count(db, Merchant) == 2 and _count(db, User) == 2  # the first, and new@
    db.session.expire_all()
    assert db.session.get(User, owner.pk).password_hash == owner.password_hash
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("signup.%")))
    assert (audit.merchant_id, audit.user_id) == (merchant.id, owner.id)


def test_login_form_uses_email_and_password_input_types(client):
    html = client.get("/login").get_data(as_text=True)

    assert re.search(
        r'<input[^>]*type="email"[^>]*name="email"|<input[^>]*name="email"'
        r'[^>]*type="email"',
        html,
    )
    assert re.search(
        r'<input[^>]*type="password"[^>]*name="password"|<input[^>]*name="password"'
        r'[^>]*type="password"',
        html,
    )


def test_signup_form_uses_email_and_password_input_types(client):
    html = client.get("/signup").get_data(as_text=True)

    assert re.search(r'type="email"[^>]*name="email"|name="email"[^>]*type="email"', html)
    assert len(re.findall(r'type="password"', html)) == 2


def test_login_with_right_password_signs_in(portal, factories, client):
    _, user = factories.make_merchant()

    response = portal.login(user.email)

    assert response.status_code == 302
    assert _logged_in(client)


def test_login_with_wrong_password_or_unknown_email_says_the_same(portal, factories, client):
    _, user = factories.make_merchant()

    wrong = portal.login(user.email, "not the password at all")
    unknown = portal.login("nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid e-mail or password" in wrong.get_data(as_text=True)
    assert "Invalid e-mail or password" in unknown.get_data(as_text=True)
    assert not _logged_in(client)


def test_login_without_csrf_token_is_refused(client, factories):
    _, user = factories.make_merchant()

    response = client.post("/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 400
    assert not _logged_in(client)


def test_logout_is_a_post_with_csrf_and_ends_the_session(portal, factories, client):
    _, user = factories.make_merchant()
    portal.login(user.email)

    assert client.get("/logout").status_code == 405
    refused = client.post("/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 400
    assert _logged_in(client)

    response = portal.post_form("/logout", {}, token_from="/")
    assert response.status_code == 302
    assert not _logged_in(client)


def test_logout_also_ends_a_copied_session_cookie(portal, factories, client, app):
    _, user = factories.make_merchant()
    portal.login(user.email)
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    assert thief.get("/", base_url="https://localhost").status_code == 200  # the copy works

    portal.post_form("/logout", {}, token_from="/")
    response = thief.get("/", base_url="https://localhost")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_login_never_redirects_off_site(portal, factories, target):
    _, user = factories.make_merchant()

    response = portal.login(user.email, path=f"/login?next={target}", token_from="/login")

    location = response.headers["Location"]
    assert response.status_code == 302
    assert "evil" not in location and "javascript" not in location


@pytest.mark.parametrize(
    "target",
    [
        "/applications%0d%0aSet-Cookie:%20session=forged",
        "/applications%0aX-Evil:%201",
        "/applications%e2%80%a8x",  # a line separator
        "/%09/evil.example",
        "/applications%20x",
        "%0d%0a/applications",
    ],
)
def test_login_with_a_next_holding_line_breaks_or_controls_goes_to_the_dashboard(
    portal, factories, target
):
    _, user = factories.make_merchant()

    response = portal.login(user.email, path=f"/login?next={target}", token_from="/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "forged" not in str(response.headers)


def test_login_follows_a_relative_next(portal, factories):
    _, user = factories.make_merchant()

    response = portal.login(user.email, path="/login?next=/applications/x", token_from="/login")

    assert response.headers["Location"].endswith("/applications/x")


def test_portal_pages_need_a_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_session_cookie_is_secure_httponly_and_samesite(portal, factories, client):
    _, user = factories.make_merchant()

    response = portal.login(user.email)

    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_portal_login_is_rate_limited_per_client_address(app, portal, client, factories):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    _, user = factories.make_merchant()
    for n in range(3):
        assert portal.login(f"someone{n}@example.com").status_code == 401

    limited = portal.login(user.email)

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert not _logged_in(client)


def test_csrf_token_helper_reads_real_pages(client):
    assert csrf_token(client.get("/signup").get_data(as_text=True))


def test_signups_are_limited_per_client_address(app, portal, db):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    portal.signup("one@example.com")
    portal.signup("two@example.com")

    limited = portal.signup("three@example.com")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"]
    assert _count(db, User) == 2


def test_in_development_the_log_says_when_a_sign_up_address_was_taken(app, factories, caplog):
    factories.make_merchant(email="taken@example.com")
    app.config["KADOSEI_ENV"] = "development"  # this test's own app, torn down after it

    accounts.sign_up(Signup(name="Shop", email="taken@example.com", password=PASSWORD))
    accounts.sign_up(Signup(name="Shop", email="fresh@example.com", password=PASSWORD))

    taken = [r.getMessage() for r in caplog.records if "already has an account" in r.getMessage()]
    assert taken == [
        "sign-up for taken@example.com: that address already has an account; nothing created"
    ]
