"""Management API (docs/api.md §3): merchant, applications, API keys; isolation, bad input,
lists."""

from __future__ import annotations

import pytest
from foundation_support import Api, error_of
from sqlalchemy import func, select

from kadosei.bounded_json import MAX_DEPTH
from kadosei.models import ApiKey, Application


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_merchant_is_the_callers(api, owner):
    body = api.get("/merchant").get_json()

    assert body["id"] == owner[0].id
    assert body["object"] == "merchant"
    assert body["name"] == owner[0].name
    assert body["created_at"].endswith("Z")


def test_create_read_rename_and_archive_an_application(api):
    created = api.post("/applications", {"name": " Web store ", "description": "EU shop"})
    app_id = created.get_json()["id"]

    assert created.status_code == 201
    assert app_id.startswith("app_") and len(app_id) >= 28
    assert created.get_json()["name"] == "Web store"
    assert api.get(f"/applications/{app_id}").get_json()["description"] == "EU shop"
    renamed = api.patch(f"/applications/{app_id}", {"name": "Shop"})
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Shop"
    archived = api.delete(f"/applications/{app_id}")
    assert archived.status_code == 200
    assert archived.get_json()["archived"] is True
    assert archived.get_json()["archived_at"].endswith("Z")
    assert api.get(f"/applications/{app_id}").get_json()["archived"] is True


def test_api_key_create_shows_the_secret_once_and_lists_never_do(api, db):
    app_id = api.post("/applications", {"name": "Shop"}).get_json()["id"]

    created = api.post(f"/applications/{app_id}/api_keys", {"mode": "test", "name": "server"})

    body = created.get_json()
    secret = body["key"]
    assert created.status_code == 201
    assert secret.startswith("ks_test_")
    assert len(secret) - len("ks_test_") >= 43  # 32 random bytes in base62
    assert body["object"] == "api_key"
    assert body["mode"] == "test"
    assert secret.endswith(body["hint"][-4:])
    listed = api.get(f"/applications/{app_id}/api_keys")
    assert "key" not in listed.get_json()["data"][0]
    assert secret not in listed.get_data(as_text=True)
    stored = db.session.scalar(select(ApiKey))
    assert secret not in str([getattr(stored, c.key) for c in ApiKey.__table__.columns])


def test_live_keys_start_with_ks_live(api):
    app_id = api.post("/applications", {"name": "Shop"}).get_json()["id"]

    body = api.post(f"/applications/{app_id}/api_keys", {"mode": "live"}).get_json()

    assert body["key"].startswith("ks_live_")
    assert body["name"] is None


def test_revoke_a_key(api):
    app_id = api.post("/applications", {"name": "Shop"}).get_json()["id"]
    key_id = api.post(f"/applications/{app_id}/api_keys", {"mode": "test"}).get_json()["id"]

    response = api.delete(f"/applications/{app_id}/api_keys/{key_id}")

    assert response.status_code == 200
    assert response.get_json()["revoked"] is True
    assert api.get(f"/applications/{app_id}/api_keys").get_json()["data"][0]["revoked"] is True


def test_an_archived_application_gets_no_new_keys(api, db):
    app_id = api.post("/applications", {"name": "Shop"}).get_json()["id"]
    api.delete(f"/applications/{app_id}")

    response = api.post(f"/applications/{app_id}/api_keys", {"mode": "test"})

    assert response.status_code == 400
    assert _count(db, ApiKey) == 0


# ----- tenant isolation: another merchant's objects are 404 and stay untouched -----


@pytest.fixture
def theirs(factories):
    """Another merchant's application and key."""
    application = factories.make_application(name="Theirs")
    key, _ = factories.make_api_key(application)
    return application, key


def _calls_on(app_id: str, key_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/applications/{app_id}", None),
        ("PATCH", f"/applications/{app_id}", {"name": "Mine now"}),
        ("DELETE", f"/applications/{app_id}", None),
        ("GET", f"/applications/{app_id}/api_keys", None),
        ("POST", f"/applications/{app_id}/api_keys", {"mode": "test"}),
        ("DELETE", f"/applications/{app_id}/api_keys/{key_id}", None),
    ]


@pytest.mark.parametrize("index", range(6))
def test_another_merchants_application_is_not_found_and_unchanged(api, theirs, db, index):
    application, key = theirs
    method, path, body = _calls_on(application.id, key.id)[index]

    response = api.call(method, path, body)

    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing"
    db.session.expire_all()
    assert application.name == "Theirs"
    assert not application.archived
    assert not key.revoked
    assert _count(db, ApiKey) == 1


def test_another_applications_key_is_not_found_through_mine(api, owner, factories, theirs, db):
    mine = factories.make_application(owner[0])

    response = api.delete(f"/applications/{mine.id}/api_keys/{theirs[1].id}")

    assert response.status_code == 404
    db.session.expire_all()
    assert not theirs[1].revoked


def test_lists_show_only_the_callers_objects(api, owner, factories, theirs):
    mine = factories.make_application(owner[0])

    apps = api.get("/applications").get_json()["data"]

    assert [a["id"] for a in apps] == [mine.id]
    cursor = api.get(f"/applications?starting_after={theirs[0].id}")
    assert cursor.status_code == 404


# ----- bad input on every endpoint -----


@pytest.fixture
def app_id(api):
    return api.post("/applications", {"name": "Shop"}).get_json()["id"]


BAD_APPLICATION_BODIES = [
    ({}, "parameter_missing", "name"),
    ({"name": None}, "parameter_missing", "name"),
    ({"name": "   "}, "parameter_missing", "name"),
    ({"name": 5}, "parameter_invalid", "name"),
    ({"name": ["a"]}, "parameter_invalid", "name"),
    ({"name": "x" * 101}, "parameter_invalid", "name"),
    ({"name": "ok", "description": "d" * 501}, "parameter_invalid", "description"),
    ({"name": "ok", "description": {"a": 1}}, "parameter_invalid", "description"),
    ({"name": "ok", "owner": "me"}, "parameter_unknown", "owner"),
    ({"name": "a\u0000b"}, "parameter_invalid", "name"),
]


@pytest.mark.parametrize(("body", "code", "param"), BAD_APPLICATION_BODIES)
def test_create_application_with_bad_input_is_a_400_and_creates_nothing(api, db, body, code, param):
    response = api.post("/applications", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert error_of(response)["param"] == param
    assert _count(db, Application) == 0


@pytest.mark.parametrize(("body", "code", "param"), BAD_APPLICATION_BODIES[1:])
def test_rename_application_with_bad_input_is_a_400_and_changes_nothing(
    api, db, app_id, body, code, param
):
    response = api.patch(f"/applications/{app_id}", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert api.get(f"/applications/{app_id}").get_json()["name"] == "Shop"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "parameter_missing", "mode"),
        ({"mode": "prod"}, "parameter_invalid", "mode"),
        ({"mode": "TEST"}, "parameter_invalid", "mode"),
        ({"mode": 1}, "parameter_invalid", "mode"),
        ({"mode": "test", "name": "n" * 101}, "parameter_invalid", "name"),
        ({"mode": "test", "name": False}, "parameter_invalid", "name"),
        ({"mode": "test", "scopes": ["all"]}, "parameter_unknown", "scopes"),
    ],
)
def test_create_api_key_with_bad_input_is_a_400_and_creates_nothing(
    api, db, app_id, body, code, param
):
    response = api.post(f"/applications/{app_id}/api_keys", body)

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert error_of(response)["param"] == param
    assert _count(db, ApiKey) == 0


def _json_posts(app_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/auth/login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/logout"),
        ("POST", "/applications"),
        ("PATCH", f"/applications/{app_id}"),
        ("POST", f"/applications/{app_id}/api_keys"),
    ]


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"name": "a",}',
        b"[1, 2]",
        b'"text"',
        b"null",
        b"\xff\xfe{}",
        b'{"name": NaN}',
        b'{"name": 1e999}',
        b"[" * 100000 + b"]" * 100000,
        # A few hundred levels: the parser manages, and a recursive check of it did not (500).
        b'{"name": ' + b"[" * 600 + b"]" * 600 + b"}",
        b'{"name": ' + b'{"a": ' * 600 + b"1" + b"}" * 600 + b"}",
        b'{"name": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
    ],
)
def test_malformed_json_is_json_invalid(api, app_id, index, raw):
    method, path = _json_posts(app_id)[index]

    response = api.call(method, path, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "json_invalid"


def test_json_nested_to_the_depth_limit_is_read(api):
    within = b'{"name": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"

    response = api.call("POST", "/applications", data=within, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parameter_invalid"
    assert error_of(response)["param"] == "name"


@pytest.mark.parametrize("index", range(6))
def test_non_json_content_type_is_415(api, app_id, index):
    method, path = _json_posts(app_id)[index]

    response = api.call(
        method, path, data="name=Shop", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert error_of(response)["type"] == "invalid_request_error"


# Logout (index 2) is not among them: §2 lets it come with an empty body (test_jwt_auth_api).
@pytest.mark.parametrize("index", [0, 1, 3, 4, 5])
def test_empty_body_where_one_is_required_is_a_400(api, app_id, index):
    method, path = _json_posts(app_id)[index]

    response = api.call(method, path)

    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


def test_a_body_too_large_is_refused_in_the_envelope(api):
    response = api.post("/applications", {"name": "x" * (2 * 1024 * 1024)})

    assert response.status_code == 413
    assert error_of(response)["type"] == "invalid_request_error"


def test_json_with_charset_parameter_is_accepted(api):
    response = api.post(
        "/applications", data=b'{"name": "Shop"}', content_type="application/json; charset=utf-8"
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/applications/app_doesnotexist0000000000",
        "/applications/%00",
        "/applications/" + "a" * 500,
        "/applications/app_x/api_keys/key_y",
    ],
)
def test_unknown_ids_are_resource_missing(api, path):
    response = api.get(path) if "api_keys/" not in path else api.delete(path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing"


def test_unknown_url_is_a_404_envelope(api):
    response = api.get("/nothing/here")

    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing"


def test_wrong_method_is_a_405_envelope_with_allow(api, app_id):
    response = api.call("PUT", f"/applications/{app_id}", {"name": "x"})

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "PATCH" in response.headers["Allow"]


def test_management_endpoints_need_a_token(anonymous, app_id):
    for method, path in [("GET", "/merchant"), ("GET", "/applications"), *_json_posts(app_id)[3:]]:
        response = anonymous.call(method, path, {})
        assert response.status_code == 401, path
        assert error_of(response)["code"] == "missing_credentials"


# ----- lists -----


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", "", "²", "1e2", " 5"])
def test_limit_outside_1_to_100_is_a_400(api, limit):
    response = api.get(f"/applications?limit={limit}")

    assert response.status_code == 400
    assert error_of(response)["param"] == "limit"


def test_limit_bounds_1_and_100_are_accepted(api):
    assert api.get("/applications?limit=1").status_code == 200
    assert api.get("/applications?limit=100").status_code == 200


def test_pages_are_newest_first_without_gaps_or_repeats(api, owner, factories):
    # Created within the same millisecond or not: creation order is exact.
    created = [factories.make_application(owner[0], name=f"App {n}").id for n in range(7)]

    seen: list[str] = []
    after = None
    while True:
        query = f"/applications?limit=3{'&starting_after=' + after if after else ''}"
        page = api.get(query).get_json()
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        after = seen[-1]

    assert seen == list(reversed(created))


def test_key_list_is_newest_first_and_pages(api, owner, factories):
    application = factories.make_application(owner[0])
    keys = [factories.make_api_key(application)[0].id for _ in range(3)]

    first = api.get(f"/applications/{application.id}/api_keys?limit=2").get_json()
    rest = api.get(
        f"/applications/{application.id}/api_keys?limit=2&starting_after={first['data'][-1]['id']}"
    ).get_json()

    assert first["object"] == "list"
    assert first["has_more"] is True
    assert [k["id"] for k in first["data"] + rest["data"]] == list(reversed(keys))
    assert rest["has_more"] is False


def test_unknown_starting_after_is_a_404_naming_the_param(api):
    response = api.get("/applications?starting_after=app_unknown")

    assert response.status_code == 404
    assert error_of(response)["param"] == "starting_after"


def test_default_page_is_twenty(api, owner, factories):
    for n in range(21):
        factories.make_application(owner[0], name=f"App {n}")

    page = api.get("/applications").get_json()

    assert len(page["data"]) == 20
    assert page["has_more"] is True


def test_api_clients_need_no_csrf_token(client, factories, owner):
    response = Api(client, factories.jwt_headers(owner[1])).post("/applications", {"name": "X"})

    assert response.status_code == 201
