"""Fixtures for the sandbox providers: an app whose queue is the run's real Redis (or the
embedded server), never a developer's worker."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url}
