"""Fixtures for the contract tests: an app with a queue (webhook events are enqueued), an
owner with an access token, and an API key of a merchant's application."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url}
