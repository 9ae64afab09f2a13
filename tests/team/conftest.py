"""Fixtures for the team tests: a merchant with an owner, a developer and a viewer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from team_support import add_member

from kadosei.models import Merchant, User
from tests.factories import PASSWORD
from tests.foundation.foundation_support import Api, Portal


@dataclass
class Crew:
    merchant: Merchant
    owner: User
    developer: User
    viewer: User


@pytest.fixture
def crew(factories) -> Crew:
    merchant, owner = factories.make_merchant()
    developer = add_member(merchant.id, owner.id, "developer")
    viewer = add_member(merchant.id, owner.id, "viewer")
    return Crew(merchant, owner, developer, viewer)


@pytest.fixture
def api_as(client, factories):
    """``api_as(user)``: JSON calls with that user's access token."""
    return lambda user: Api(client, factories.jwt_headers(user))


@pytest.fixture
def portal(client):
    return Portal(client)


@pytest.fixture
def portal_as(portal):
    """``portal_as(user)``: the test client logged in to the portal as ``user``."""

    def log_in(user):
        response = portal.login(user.email, PASSWORD)
        assert response.status_code == 302, response.status_code
        return portal

    return log_in
