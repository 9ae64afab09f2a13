"""The portal's navigation: the pages ``create_app`` lists, in its order, on every page."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


def _login(client, user) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def test_the_navigation_lists_the_portals_pages_in_order(client, factories):
    _, user = factories.make_merchant()
    _login(client, user)

    html = client.get("/payments").get_data(as_text=True)
    nav = html.split('<nav class="mainnav">')[1].split("</nav>")[0]

    labels = re.findall(r">([^<>]+)</a>", nav)
    pages = ["Applications", "Dashboard", "Payments", "Routing", "Sandbox", "Team", "Audit", "Docs"]
    assert labels == pages
    assert 'href="/payments" class="active"' in nav


def test_an_applications_page_links_its_webhooks(client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _login(client, user)

    html = client.get(f"/applications/{application.id}").get_data(as_text=True)

    assert f'href="/applications/{application.id}/webhooks"' in html
