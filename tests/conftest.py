"""Fixtures: a fresh app and database per test on real SQLite or PostgreSQL, and real Redis.

``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` select the machine's servers; each run gets a
database (and a Redis db index) of its own, dropped or flushed afterwards. Without them:
SQLite in a temporary folder and kadosei's embedded queue server.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kadosei import create_app
from kadosei.config import normalize_database_url
from kadosei.extensions import db as _db
from tests.factories import Factories

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database of this run's own: PostgreSQL when DATABASE_URL says so, else SQLite."""
    configured = os.environ.get("DATABASE_URL")
    if not configured or not configured.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'kadosei-test.db'}"
        return
    server = make_url(normalize_database_url(configured))
    name = f"kadosei_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis db index this run has to itself (flushed after), or the embedded queue server."""
    configured = os.environ.get("REDIS_URL")
    if not configured:
        from kadosei.jobs.embedded import EmbeddedRedisServer

        server = EmbeddedRedisServer(port=0)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    base = re.sub(r"/\d*$", "", configured.rstrip("/"))
    for index in range(15, 0, -1):
        client = redis_lib.Redis.from_url(f"{base}/{index}")
        # Claim an empty db index atomically so parallel runs never share one.
        if client.dbsize() == 0 and client.set("kadosei-test-claim", "1", nx=True):
            try:
                yield f"{base}/{index}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    pytest.skip("no empty Redis db index to test in")


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    _flush_except_claim(client)
    yield client
    _flush_except_claim(client)
    client.close()


def _flush_except_claim(client) -> None:
    for key in client.scan_iter(count=500):
        if key != b"kadosei-test-claim":
            client.delete(key)


def make_test_app(database_url: str, redis_url: str | None = None, **overrides):
    config = {
        "KADOSEI_ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KADOSEI_PUBLIC_URL": "https://kadosei.test",
        "KADOSEI_PROXY_COUNT": 0,
        "KADOSEI_ALLOW_HTTP_LOOPBACK": False,
        # Cheap argon2 parameters: the production cost is exercised by its own test.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def _schema(database_url):
    """Build the schema once per run from the models (tests/test_migrations.py checks that the
    committed migrations build the same schema)."""
    app = make_test_app(database_url)
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    return True


@pytest.fixture
def app_config() -> dict:
    """Settings for this test's app; an area's conftest overrides it (e.g. a real queue)."""
    return {}


@pytest.fixture
def app(database_url, _schema, app_config):
    app = make_test_app(database_url, **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        _truncate_all()
        _db.engine.dispose()


def _truncate_all() -> None:
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


class HttpsClient(FlaskClient):
    """The test client speaking HTTPS, as every real client of kadosei must, and sending a
    same-origin Referer as browsers do (flask-wtf checks it on HTTPS form posts)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_REFERER", "https://localhost/")

    def open(self, *args, **kwargs):
        if not args or isinstance(args[0], str):
            kwargs.setdefault("base_url", "https://localhost")
        # Each request gets an app context (so `g` and the database session) of its own, as in
        # production; the test's own session then forgets what it had loaded.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = HttpsClient
    return app.test_client()


@pytest.fixture
def factories(app):
    return Factories(app)
