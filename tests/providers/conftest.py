"""Fixtures for the sandbox providers: an app whose queue is the run's real Redis (or the
embedded server), never a developer's worker."""

from __future__ import annotations

import pytest

from kadosei.extensions import db as _db
from tests.conftest import HttpsClient, _truncate_all, make_test_app


@pytest.fixture
def app(database_url, _schema, redis_url, redis_client):
    app = make_test_app(database_url, redis_url)
    with app.app_context():
        yield app
        _db.session.remove()
        _truncate_all()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    app.test_client_class = HttpsClient
    return app.test_client()
