"""Fixtures for the foundation tests."""

from __future__ import annotations

import pytest
from foundation_support import Api, Portal


@pytest.fixture
def portal(client):
    return Portal(client)


@pytest.fixture
def owner(factories):
    """A merchant and its owner user."""
    return factories.make_merchant()


@pytest.fixture
def api(client, factories, owner):
    """API calls authenticated with the owner's access token."""
    return Api(client, factories.jwt_headers(owner[1]))


@pytest.fixture
def anonymous(client):
    return Api(client)
