"""The developer docs: /docs (the API reference) and /docs/quickstart are public pages, drawn
by a renderer served from kadosei's own static files under the portal's CSP, linked from the
portal, and filled in with the merchant's own application when one is logged in."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD
from tests.foundation.foundation_support import Portal, csrf_token

DOC_PAGES = ("/docs", "/docs/quickstart")
VENDOR = "/static/vendor/swagger-ui-dist-5.35.0"


def logged_in(client, factories, **merchant):
    """A merchant's owner logged into the portal; returns (merchant, user)."""
    merchant, user = factories.make_merchant(**merchant)
    response = Portal(client).login(user.email, PASSWORD)
    assert response.status_code == 302, response.status_code
    return merchant, user


def asset_urls(page: str) -> list[str]:
    """Every script, stylesheet, image and frame a page loads."""
    scripts = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page)
    links = re.findall(r"<link\b[^>]*\bhref=\"([^\"]+)\"", page)
    others = re.findall(r"<(?:img|iframe|source|embed)\b[^>]*\bsrc=\"([^\"]+)\"", page)
    return scripts + links + others


@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_answer_visitors_who_are_not_logged_in(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'href="/login' in page and 'href="/signup"' in page  # their own nav: log in, sign up
    assert 'href="/docs"' in page and 'href="/docs/quickstart"' in page


@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_answer_logged_in_merchants_with_the_portal_nav(client, factories, path):
    _, user = logged_in(client, factories)

    response = client.get(path)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert user.email in page  # the portal's header, not a visitor's
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', page, re.S).group(1)
    assert re.search(r'<a href="/docs" class="active">Docs</a>', nav)


@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_over_plain_http_are_sent_to_https(app, path):
    response = app.test_client().get(path, base_url="http://kadosei.test")

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://kadosei.test{path}"


def test_the_portal_nav_links_to_the_docs_on_every_portal_page(client, factories):
    logged_in(client, factories)

    page = client.get("/").get_data(as_text=True)

    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', page, re.S).group(1)
    assert '<a href="/docs" class="">Docs</a>' in nav


def test_the_checkout_layout_shows_customers_no_docs_link(client, factories):
    """Customers share the base layout; the developer docs are not for them."""
    page = client.get("/checkout/ps_unknown").get_data(as_text=True)

    assert "/docs" not in page


def test_the_new_key_page_links_to_the_reference_and_its_applications_quickstart(client, factories):
    merchant, _ = logged_in(client, factories)
    application = factories.make_application(merchant, name="Web store")
    path = f"/applications/{application.id}"
    token = csrf_token(client.get(path).get_data(as_text=True))

    created = client.post(
        f"{path}/api_keys", data={"mode": "test", "name": "ci", "csrf_token": token}
    )
    response = client.get(created.headers["Location"])  # post/redirect/get

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ks_test_" in page  # the page that shows the new secret
    assert f'href="/docs/quickstart?application={application.id}"' in page
    assert 'href="/docs"' in page


def test_the_reference_is_drawn_from_the_served_openapi_document(client):
    page = client.get("/docs").get_data(as_text=True)

    assert 'data-openapi-url="/api/v1/openapi.json"' in page
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.get_json()["openapi"].startswith("3.1")


def test_the_renderers_files_are_served_from_static_with_their_content_types(client):
    page = client.get("/docs").get_data(as_text=True)
    expected = {
        f"{VENDOR}/swagger-ui-bundle.js": "text/javascript",
        f"{VENDOR}/swagger-ui.css": "text/css",
        "/static/js/api-reference.js": "text/javascript",
    }

    assert set(expected) <= set(asset_urls(page))
    for url, mimetype in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == mimetype, (url, response.mimetype)
    assert b"SwaggerUIBundle" in client.get(f"{VENDOR}/swagger-ui-bundle.js").data
    for kept in ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"):
        assert client.get(f"{VENDOR}/{kept}").status_code == 200, kept


@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_load_nothing_from_another_origin(client, factories, path):
    for who in ("visitor", "merchant"):
        if who == "merchant":
            logged_in(client, factories)
        page = client.get(path).get_data(as_text=True)

        urls = asset_urls(page)
        assert urls, "the page loads its stylesheet at least"
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), (who, url)
        # Under the portal's CSP an inline script or style would be refused: there are none.
        assert not re.search(r"<script\b(?![^>]*\bsrc=)", page), who
        assert "<style" not in page and " style=" not in page, who


def test_the_vendored_stylesheet_and_settings_fetch_nothing_from_elsewhere(client):
    css = client.get(f"{VENDOR}/swagger-ui.css").get_data(as_text=True)
    settings = client.get("/static/js/api-reference.js").get_data(as_text=True)

    assert "@import" not in css and "@font-face" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    assert "validatorUrl: null" in settings


def test_the_docs_keep_the_portals_content_security_policy(client):
    portal_csp = client.get("/login").headers["Content-Security-Policy"]

    for path in DOC_PAGES:
        csp = client.get(path).headers["Content-Security-Policy"]
        assert csp == portal_csp
        assert "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "unsafe-eval" not in csp and "unsafe-inline" not in csp


def test_the_quickstart_shows_placeholders_to_a_visitor(client, factories):
    application = factories.make_application(name="Someone's store")

    page = client.get("/docs/quickstart").get_data(as_text=True)

    assert "/applications/YOUR_APP_ID/api_keys" in page
    assert application.id not in page and "Someone&#39;s store" not in page
    assert "https://kadosei.test/api/v1/payment_sessions" in page  # KADOSEI_PUBLIC_URL


def test_the_quickstart_is_filled_in_for_a_logged_in_merchant(client, factories):
    merchant, user = logged_in(client, factories)
    older = factories.make_application(merchant, name="Staging")
    newest = factories.make_application(merchant, name="Web store")
    stranger = factories.make_application(name="Not yours")

    page = client.get("/docs/quickstart").get_data(as_text=True)

    assert f"https://kadosei.test/api/v1/applications/{newest.id}/api_keys" in page
    assert f'href="/applications/{newest.id}">Web store</a>' in page
    assert f'"email": "{user.email}"' in page.replace("&#34;", '"')
    assert "YOUR_APP_ID" not in page
    assert f'href="/docs/quickstart?application={older.id}">Staging</a>' in page
    assert stranger.id not in page

    chosen = client.get(f"/docs/quickstart?application={older.id}").get_data(as_text=True)
    assert f"/api/v1/applications/{older.id}/webhook_endpoints" in chosen

    # Another merchant's application id names nothing here: the merchant's own is shown.
    foreign = client.get(f"/docs/quickstart?application={stranger.id}").get_data(as_text=True)
    assert stranger.id not in foreign and newest.id in foreign


def test_the_quickstart_skips_archived_applications_and_says_to_create_one(client, factories):
    merchant, _ = logged_in(client, factories)
    archived = factories.make_application(merchant, name="Old shop")
    token = csrf_token(client.get(f"/applications/{archived.id}").get_data(as_text=True))
    client.post(f"/applications/{archived.id}/archive", data={"csrf_token": token})

    page = client.get("/docs/quickstart").get_data(as_text=True)

    assert archived.id not in page
    assert "create an application</a>" in page
    assert "/applications/YOUR_APP_ID/api_keys" in page
