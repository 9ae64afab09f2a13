"""API-key authentication: digest look-up, revocation at once, archived apps, cheap last use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kadosei.errors import AuthenticationFailed
from kadosei.models import ApiKey
from kadosei.services import api_keys, applications
from kadosei.services.api_keys import authenticate_api_key, key_digest


def _code(secret: str) -> str:
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_api_key(secret)
    return failure.value.code


def test_a_key_decides_application_and_mode(factories):
    application = factories.make_application()
    _, test_secret = factories.make_api_key(application, "test")
    _, live_secret = factories.make_api_key(application, "live")

    test = authenticate_api_key(test_secret)
    live = authenticate_api_key(live_secret)

    assert (test.application.id, test.mode) == (application.id, "test")
    assert (live.application.id, live.mode) == (application.id, "live")


def test_only_a_keyed_digest_of_the_secret_is_stored(factories, db):
    _, secret = factories.make_api_key()

    row = db.session.scalar(select(ApiKey))
    columns = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
    assert row.digest == key_digest(secret)
    assert len(row.digest) == 64
    assert not any(secret in value for value in columns)
    assert secret.startswith(row.prefix) and secret.endswith(row.last4)


def test_the_digest_depends_on_the_server_pepper(app, factories):
    _, secret = factories.make_api_key()
    before = key_digest(secret)

    app.config["KADOSEI_API_KEY_PEPPER"] = "another-pepper"

    assert key_digest(secret) != before
    assert _code(secret) == "invalid_credentials"


def test_key_secrets_are_random_base62_with_at_least_32_bytes(factories):
    secrets_ = {factories.make_api_key()[1] for _ in range(5)}

    for secret in secrets_:
        body = secret.removeprefix("ks_test_")
        assert body.isalnum() and body.isascii()
        assert len(body) >= 43
    assert len(secrets_) == 5


def test_revoked_key_stops_working_on_the_next_request(factories):
    key, secret = factories.make_api_key()
    authenticate_api_key(secret)

    api_keys.revoke_api_key(key)

    assert _code(secret) == "key_revoked"


def test_archiving_the_application_stops_its_keys(factories):
    key, secret = factories.make_api_key()

    applications.archive_application(key.application)

    assert _code(secret) == "key_revoked"


@pytest.mark.parametrize(
    "secret",
    [
        "ks_test_unknown",
        "ks_live_" + "a" * 44,
        "ks_prod_" + "a" * 44,
        "sk_test_abc",
        "ks_test_" + "a" * 200,
    ],
)
def test_unknown_or_malformed_keys_are_invalid_credentials(factories, secret):
    assert _code(secret) == "invalid_credentials"


def test_last_used_at_is_set_on_use_but_not_written_on_every_request(factories, db):
    key, secret = factories.make_api_key()
    assert key.last_used_at is None

    authenticate_api_key(secret)
    db.session.expire_all()
    first = db.session.get(ApiKey, key.pk).last_used_at
    authenticate_api_key(secret)
    db.session.expire_all()
    second = db.session.get(ApiKey, key.pk).last_used_at

    assert first is not None
    assert second == first


def test_last_used_at_moves_on_once_the_granularity_has_passed(factories, db):
    key, secret = factories.make_api_key()
    authenticate_api_key(secret)
    db.session.expire_all()
    stale = db.session.get(ApiKey, key.pk)
    stale.last_used_at -= timedelta(minutes=5)
    db.session.commit()
    old = stale.last_used_at

    authenticate_api_key(secret)
    db.session.expire_all()

    assert db.session.get(ApiKey, key.pk).last_used_at > old


def test_revoking_twice_keeps_the_first_revocation_time(factories, db):
    key, _ = factories.make_api_key()
    api_keys.revoke_api_key(key)
    first = key.revoked_at

    api_keys.revoke_api_key(key)

    assert key.revoked_at == first


# ----- the api_key_required decorator, through the payment API -----


def test_a_jwt_on_an_api_key_endpoint_is_refused(client, factories):
    _, user = factories.make_merchant()

    response = client.get("/api/v1/payment_sessions", headers=factories.jwt_headers(user))

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_a_live_key_opens_the_payment_api_until_revoked(client, factories):
    key, secret = factories.make_api_key()
    headers = factories.key_headers(secret)
    assert client.get("/api/v1/payment_sessions", headers=headers).status_code == 200

    api_keys.revoke_api_key(key)
    response = client.get("/api/v1/payment_sessions", headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "key_revoked"


def test_an_archived_applications_key_is_refused_by_the_payment_api(client, factories):
    key, secret = factories.make_api_key()
    applications.archive_application(key.application)

    response = client.get("/api/v1/payment_sessions", headers=factories.key_headers(secret))

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "key_revoked"


def test_payment_api_without_credentials_is_missing_credentials(client):
    response = client.get("/api/v1/payment_sessions")

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "missing_credentials"


def test_using_a_key_records_last_used_at(client, factories, db):
    key, secret = factories.make_api_key()

    client.get("/api/v1/payment_sessions", headers=factories.key_headers(secret))

    db.session.expire_all()
    assert db.session.get(ApiKey, key.pk).last_used_at is not None
