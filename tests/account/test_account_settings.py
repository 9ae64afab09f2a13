"""Shop settings (the name customers see, the support e-mail), in the portal and the API."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.models import AuditEvent, Merchant
from tests.factories import PASSWORD


def test_an_owner_renames_the_shop_and_customers_see_the_new_name(browser, owner, client, db):
    merchant, user = owner
    old_name = merchant.name
    browser.login(user.email)

    saved = browser.submit(
        "/settings/shop", {"name": "Ada's Tea Room", "support_email": "Help@Tea.example"}
    )

    assert saved.status_code == 302
    assert saved.headers["Location"] == "/settings"
    page = client.get("/settings").get_data(as_text=True)
    assert "Shop settings saved." in page
    assert "Ada&#39;s Tea Room" in page
    stored = db.session.scalar(select(Merchant).where(Merchant.id == merchant.id))
    # The name kadosei's checkout pages show the merchant's customers.
    assert stored.name == "Ada's Tea Room"
    assert stored.support_email == "Help@tea.example"  # the domain is case-blind
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merchant.updated"))
    assert audit.user_id == user.id
    assert audit.details["changes"]["name"] == {"from": old_name, "to": "Ada's Tea Room"}


def test_the_shop_form_refuses_an_empty_name_and_a_bad_address(browser, owner, db):
    merchant, user = owner
    browser.login(user.email)

    empty = browser.submit("/settings/shop", {"name": "  ", "support_email": ""})
    bad = browser.submit("/settings/shop", {"name": "Shop", "support_email": "not-an-address"})

    assert empty.status_code == 400
    assert bad.status_code == 400
    assert db.session.scalar(select(Merchant.name)) == merchant.name


def test_the_shop_form_needs_its_csrf_token(browser, owner, client, db):
    merchant, user = owner
    browser.login(user.email)

    response = client.post("/settings/shop", data={"name": "Forged"})

    assert response.status_code == 400
    assert db.session.scalar(select(Merchant.name)) == merchant.name


def test_settings_pages_need_a_login(client):
    for path in ("/settings", "/settings/shop", "/settings/password", "/settings/two-factor"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_the_settings_forms_say_what_password_managers_expect(browser, owner, client):
    browser.login(owner[1].email)

    shop = client.get("/settings/shop").get_data(as_text=True)
    password = client.get("/settings/password").get_data(as_text=True)

    assert 'id="name"' in shop and 'autocomplete="organization"' in shop
    assert 'type="email"' in shop and 'id="support_email"' in shop
    assert '<label class="field">' in password
    assert 'autocomplete="current-password"' in password
    assert password.count('autocomplete="new-password"') == 2


def test_the_api_reads_and_changes_the_merchant(client, factories, owner, db):
    merchant, user = owner
    headers = factories.jwt_headers(user)

    changed = client.patch(
        "/api/v1/merchant",
        json={"name": "Tea Room", "support_email": "help@tea.example"},
        headers=headers,
    )
    cleared = client.patch("/api/v1/merchant", json={"support_email": None}, headers=headers)
    read = client.get("/api/v1/merchant", headers=headers)

    assert changed.status_code == 200
    assert changed.get_json()["support_email"] == "help@tea.example"
    assert cleared.get_json()["support_email"] is None
    assert read.get_json()["name"] == "Tea Room"
    assert read.get_json()["id"] == merchant.id


def test_the_api_refuses_bad_merchant_changes(client, factories, owner):
    headers = factories.jwt_headers(owner[1])

    unknown = client.patch("/api/v1/merchant", json={"id": "mer_x"}, headers=headers)
    empty = client.patch("/api/v1/merchant", json={"name": ""}, headers=headers)
    bad = client.patch("/api/v1/merchant", json={"support_email": "nope"}, headers=headers)
    anonymous = client.patch("/api/v1/merchant", json={"name": "X"})

    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["code"] == "parameter_unknown"
    assert empty.status_code == 400
    assert bad.status_code == 400
    assert bad.get_json()["error"]["param"] == "support_email"
    assert anonymous.status_code == 401


def test_the_password_stays_out_of_the_shop_form(browser, owner, client):
    browser.login(owner[1].email)

    assert PASSWORD not in client.get("/settings/shop").get_data(as_text=True)


def test_a_null_name_is_refused_not_stored(client, factories, owner, db):
    merchant, user = owner
    name = merchant.name

    response = client.patch(
        "/api/v1/merchant", json={"name": None}, headers=factories.jwt_headers(user)
    )

    assert response.status_code == 400
    assert db.session.scalar(select(Merchant.name)) == name
