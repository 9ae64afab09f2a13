"""Management auth (docs/api.md §3): login, access-token checks, refresh rotation and family
revocation."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from foundation_support import Api, error_of
from sqlalchemy import delete, select

from kadosei.models import AuditEvent, RefreshToken, User
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD


def _login(anonymous: Api, email: str, password: str = PASSWORD, **kwargs):
    return anonymous.post("/auth/login", {"email": email, "password": password}, **kwargs)


def _claims(user: User, **changes) -> dict:
    now = datetime.now(UTC)
    claims = {
        "iss": "kadosei",
        "sub": user.id,
        "mer": user.merchant_id,
        "fam": "rtf_forged00000000000000000",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(minutes=15),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_login_returns_a_token_pair_that_opens_the_management_api(anonymous, owner):
    response = _login(anonymous, owner[1].email)

    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "Bearer"
    assert 60 <= body["expires_in"] <= 3600
    merchant = anonymous.get("/merchant", headers=_bearer(body["access_token"]))
    assert merchant.status_code == 200
    assert merchant.get_json()["id"] == owner[0].id


def test_access_token_claims_are_complete_and_short_lived(anonymous, owner):
    token = _login(anonymous, owner[1].email).get_json()["access_token"]

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], issuer="kadosei")
    assert header["alg"] == "HS256"
    assert {"exp", "iat", "sub", "jti", "typ", "fam"} <= set(claims)
    assert claims["typ"] == "access"
    assert claims["sub"] == owner[1].id
    assert claims["exp"] - claims["iat"] <= 15 * 60


def test_login_email_is_case_insensitive(anonymous, owner):
    assert _login(anonymous, owner[1].email.upper()).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(anonymous, owner):
    wrong = _login(anonymous, owner[1].email, "not the password")
    unknown = _login(anonymous, "nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown)
    assert error_of(wrong)["code"] == "invalid_credentials"
    assert error_of(wrong)["type"] == "authentication_error"


def test_failed_and_successful_logins_are_audited(anonymous, owner, db):
    _login(anonymous, owner[1].email, "not the password")
    _login(anonymous, owner[1].email)

    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.pk)).all()
    assert actions[-2:] == ["login.failed", "login.succeeded"]


def test_passwords_are_stored_as_argon2id_hashes(owner, db):
    stored = db.session.scalar(select(User.password_hash))

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"password": PASSWORD}, "parameter_missing", "email"),
        ({"email": "a@example.com"}, "parameter_missing", "password"),
        ({"email": 5, "password": PASSWORD}, "parameter_invalid", "email"),
        ({"email": "a@example.com", "password": ["x"]}, "parameter_invalid", "password"),
        ({"email": "a@example.com", "password": PASSWORD, "otp": 1}, "parameter_invalid", "otp"),
        ({"email": "a@example.com", "password": PASSWORD, "mfa": 1}, "parameter_unknown", "mfa"),
    ],
)
def test_login_with_bad_input_is_a_400(anonymous, body, code, param):
    response = anonymous.post("/auth/login", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert error_of(response)["param"] == param


def test_login_with_a_nul_character_is_refused_cleanly(anonymous, owner):
    response = _login(anonymous, "a\u0000@example.com")

    assert response.status_code in (400, 401)
    assert error_of(response)["type"] in ("invalid_request_error", "authentication_error")


def test_failed_logins_are_limited_per_client_address(app, anonymous, owner):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for n in range(3):
        assert _login(anonymous, f"guess{n}@example.com").status_code == 401

    limited = _login(anonymous, owner[1].email)

    assert limited.status_code == 429
    assert error_of(limited) == {
        "type": "rate_limit_error",
        "code": "rate_limited",
        "message": error_of(limited)["message"],
    }
    assert int(limited.headers["Retry-After"]) >= 1
    other_client = _login(anonymous, owner[1].email, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_client.status_code == 200


def test_failed_logins_are_limited_per_account_across_addresses(app, anonymous, owner):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for n in range(3):
        environ = {"REMOTE_ADDR": f"10.0.0.{n + 1}"}
        response = _login(anonymous, owner[1].email, "wrong", environ_base=environ)
        assert response.status_code == 401

    limited = _login(anonymous, owner[1].email, environ_base={"REMOTE_ADDR": "10.0.0.99"})

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_portal_and_api_failures_count_against_the_same_account(app, anonymous, portal, owner):
    app.config["LOGIN_RATE_LIMIT"] = "4 per minute"
    for n in range(2):
        _login(anonymous, owner[1].email, "wrong", environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})
    for n in range(2):
        portal.login(owner[1].email, "wrong", environ_base={"REMOTE_ADDR": f"10.2.0.{n}"})

    limited = _login(anonymous, owner[1].email, environ_base={"REMOTE_ADDR": "10.3.0.1"})

    assert limited.status_code == 429


def test_successful_logins_are_not_limited(app, anonymous, owner):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"

    for _ in range(4):
        assert _login(anonymous, owner[1].email).status_code == 200


def test_expired_access_token_is_token_expired(anonymous, owner):
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        _claims(owner[1], iat=past, exp=past + timedelta(minutes=15)), TEST_SECRET, "HS256"
    )

    response = anonymous.get("/merchant", headers=_bearer(token))

    assert response.status_code == 401
    assert error_of(response)["code"] == "token_expired"


def test_token_with_a_forged_signature_is_refused(anonymous, owner):
    token = jwt.encode(_claims(owner[1]), "another-secret-of-sufficient-length!!", "HS256")

    response = anonymous.get("/merchant", headers=_bearer(token))

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"


def test_token_with_alg_none_is_refused(anonymous, owner):
    claims = _claims(owner[1])
    claims = {
        **claims,
        "iat": int(claims["iat"].timestamp()),
        "exp": int(claims["exp"].timestamp()),
    }
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."

    response = anonymous.get("/merchant", headers=_bearer(token))

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "refresh"},
        {"typ": None},
        {"jti": None},
        {"iss": "someone-else"},
        {"sub": "usr_doesnotexist000000000000"},
        {"fam": None},
        {"fam": 42},
    ],
)
def test_token_with_wrong_type_or_claims_is_refused(anonymous, owner, changes):
    token = jwt.encode(_claims(owner[1], **changes), TEST_SECRET, "HS256")

    response = anonymous.get("/merchant", headers=_bearer(token))

    assert response.status_code == 401


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_token_signed_with_another_hmac_algorithm_is_refused(anonymous, owner):
    token = jwt.encode(_claims(owner[1]), TEST_SECRET, "HS512")

    assert anonymous.get("/merchant", headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt"],
)
def test_missing_or_malformed_credentials_are_401(anonymous, header):
    headers = {"Authorization": header} if header is not None else {}

    response = anonymous.get("/merchant", headers=headers)

    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"
    expected = "missing_credentials" if header is None else "invalid_credentials"
    assert error_of(response)["code"] == expected


def test_api_key_on_a_jwt_endpoint_is_refused(anonymous, factories, owner):
    application = factories.make_application(owner[0])
    _, secret = factories.make_api_key(application)

    response = anonymous.get("/merchant", headers=factories.key_headers(secret))

    assert response.status_code == 401
    assert "API key" in error_of(response)["message"]


def test_refresh_rotates_the_pair_and_spends_the_old_token(anonymous, owner):
    first = _login(anonymous, owner[1].email).get_json()

    second = anonymous.post("/auth/refresh", {"refresh_token": first["refresh_token"]})

    pair = second.get_json()
    assert second.status_code == 200
    assert pair["refresh_token"] != first["refresh_token"]
    assert anonymous.get("/merchant", headers=_bearer(pair["access_token"])).status_code == 200
    again = anonymous.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert again.status_code == 401


def test_reusing_a_spent_refresh_token_revokes_its_whole_family(anonymous, owner, db):
    first = _login(anonymous, owner[1].email).get_json()["refresh_token"]
    second = anonymous.post("/auth/refresh", {"refresh_token": first}).get_json()["refresh_token"]
    other_session = _login(anonymous, owner[1].email).get_json()["refresh_token"]

    reuse = anonymous.post("/auth/refresh", {"refresh_token": first})

    assert reuse.status_code == 401
    assert anonymous.post("/auth/refresh", {"refresh_token": second}).status_code == 401
    assert anonymous.post("/auth/refresh", {"refresh_token": other_session}).status_code == 200
    assert "refresh_token.reused" in db.session.scalars(select(AuditEvent.action)).all()


def test_logout_revokes_the_refresh_token(anonymous, owner):
    refresh = _login(anonymous, owner[1].email).get_json()["refresh_token"]

    response = anonymous.post("/auth/logout", {"refresh_token": refresh})

    assert response.status_code == 204
    assert response.get_data() == b""
    assert anonymous.post("/auth/refresh", {"refresh_token": refresh}).status_code == 401


def test_logout_with_an_empty_body_ends_the_access_tokens_session(anonymous, owner):
    """§2: a POST with an empty body (cancel, logout, test) needs no Content-Type."""
    session, other = _session(anonymous, owner), _session(anonymous, owner)

    response = anonymous.post("/auth/logout", headers=_bearer(session["access_token"]))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert not _works(anonymous, session["access_token"])
    refresh = anonymous.post("/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert refresh.status_code == 401
    assert _works(anonymous, other["access_token"])


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_credentials"),
        ({"Authorization": "Bearer not-a-token"}, "invalid_credentials"),
        ({"Authorization": "Bearer ks_test_notajwt"}, "invalid_credentials"),
    ],
)
def test_logout_with_an_empty_body_and_no_valid_access_token_is_401(anonymous, headers, code):
    response = anonymous.post("/auth/logout", headers=headers)

    assert response.status_code == 401
    assert error_of(response)["code"] == code


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "parameter_missing"),
        ({"refresh_token": 42}, 400, "parameter_invalid"),
        ({"refresh_token": "rt_x", "extra": 1}, 400, "parameter_unknown"),
        ({"refresh_token": "rt_unknown"}, 401, "invalid_credentials"),
        ({"refresh_token": "x" * 5000}, 401, "invalid_credentials"),
    ],
)
def test_refresh_and_logout_with_bad_input(anonymous, path, body, status, code):
    response = anonymous.post(path, body)

    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_expired_refresh_token_is_refused(app, anonymous, owner):
    app.config["JWT_REFRESH_TTL"] = -1
    refresh = _login(anonymous, owner[1].email).get_json()["refresh_token"]

    response = anonymous.post("/auth/refresh", {"refresh_token": refresh})

    assert response.status_code == 401


def _session(anonymous: Api, owner) -> dict:
    """A fresh login: its access and refresh tokens."""
    return _login(anonymous, owner[1].email).get_json()


def _works(anonymous: Api, access_token: str) -> bool:
    response = anonymous.get("/merchant", headers=_bearer(access_token))
    assert response.status_code in (200, 401), response.status_code
    return response.status_code == 200


def test_logout_ends_the_access_tokens_of_its_session_at_once(anonymous, owner):
    session, other = _session(anonymous, owner), _session(anonymous, owner)
    assert _works(anonymous, session["access_token"])

    response = anonymous.post("/auth/logout", {"refresh_token": session["refresh_token"]})

    assert response.status_code == 204
    refused = anonymous.get("/merchant", headers=_bearer(session["access_token"]))
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "invalid_credentials"
    assert _works(anonymous, other["access_token"])  # another login is another session


def test_logout_also_ends_the_access_token_it_is_called_with(anonymous, owner):
    first, second = _session(anonymous, owner), _session(anonymous, owner)

    response = anonymous.post(
        "/auth/logout",
        {"refresh_token": first["refresh_token"]},
        headers=_bearer(second["access_token"]),
    )

    assert response.status_code == 204
    assert not _works(anonymous, first["access_token"])
    assert not _works(anonymous, second["access_token"])
    assert (
        anonymous.post("/auth/refresh", {"refresh_token": second["refresh_token"]}).status_code
        == 401
    )


def test_logout_with_only_an_access_token_ends_its_session(anonymous, owner):
    session = _session(anonymous, owner)

    response = anonymous.post("/auth/logout", {}, headers=_bearer(session["access_token"]))

    assert response.status_code == 204
    assert not _works(anonymous, session["access_token"])
    assert (
        anonymous.post("/auth/refresh", {"refresh_token": session["refresh_token"]}).status_code
        == 401
    )


def test_an_invalid_access_token_alone_does_not_log_out(anonymous, owner):
    session = _session(anonymous, owner)
    forged = jwt.encode(_claims(owner[1]), "another-secret-of-sufficient-length!!", "HS256")

    response = anonymous.post("/auth/logout", {}, headers=_bearer(forged))

    assert response.status_code == 401
    assert _works(anonymous, session["access_token"])


def test_a_reused_refresh_token_ends_its_familys_access_tokens(anonymous, owner):
    first = _session(anonymous, owner)
    rotated = anonymous.post("/auth/refresh", {"refresh_token": first["refresh_token"]}).get_json()
    other = _session(anonymous, owner)
    assert _works(anonymous, first["access_token"]) and _works(anonymous, rotated["access_token"])

    reuse = anonymous.post("/auth/refresh", {"refresh_token": first["refresh_token"]})

    assert reuse.status_code == 401
    assert not _works(anonymous, first["access_token"])
    assert not _works(anonymous, rotated["access_token"])
    assert _works(anonymous, other["access_token"])


def test_an_access_token_naming_no_family_of_its_user_is_refused(anonymous, owner, factories):
    _, stranger = factories.make_merchant()
    strangers_family = jwt.decode(
        factories.access_token(stranger), TEST_SECRET, algorithms=["HS256"], issuer="kadosei"
    )["fam"]

    for family in ("rtf_doesnotexist0000000000", strangers_family):
        token = jwt.encode(_claims(owner[1], fam=family), TEST_SECRET, "HS256")
        assert not _works(anonymous, token), family


def test_a_removed_users_access_token_stops_working(anonymous, owner, db):
    session = _session(anonymous, owner)
    assert _works(anonymous, session["access_token"])

    db.session.execute(delete(RefreshToken).where(RefreshToken.user_id == owner[1].id))
    db.session.execute(delete(AuditEvent).where(AuditEvent.user_id == owner[1].id))
    db.session.execute(delete(User).where(User.id == owner[1].id))
    db.session.commit()

    assert not _works(anonymous, session["access_token"])
