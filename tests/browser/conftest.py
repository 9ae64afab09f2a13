"""Fixtures for the browser tests: one Chromium and one live kadosei per run, a ``site`` per
test. Skipped, saying why, when Chromium is missing (``python3 dev.py test`` says so too)."""

from __future__ import annotations

import pytest
import redis as redis_lib
from browser_support import CHROMIUM, CHROMIUM_ARGS, LiveServer, Site, chromium_missing

from kadosei.extensions import db as _db
from tests.conftest import _flush_except_claim, _truncate_all, make_test_app

MISSING = chromium_missing()


def pytest_terminal_summary(terminalreporter):
    if MISSING:
        terminalreporter.write_line(f"BROWSER TESTS SKIPPED: {MISSING}", yellow=True, bold=True)


@pytest.fixture(scope="session")
def browser():
    if MISSING:
        pytest.skip(f"browser tests skipped: {MISSING}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
    sync_playwright = sync_api.sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(database_url, _schema, redis_url):
    """kadosei over HTTP on a free port, with the run's database and queue, test-mode sandbox
    providers answering in-process, loopback webhook endpoints allowed."""

    def build(public_url: str):
        return make_test_app(
            database_url,
            redis_url,
            KADOSEI_PUBLIC_URL=public_url,
            KADOSEI_ALLOW_HTTP_LOOPBACK=True,
            KADOSEI_WEBHOOK_ALLOW_PRIVATE=True,
            SANDBOX_PROCESSING_SECONDS=0,
            SIGNUP_RATE_LIMIT="1000 per minute",
        )

    server = LiveServer(build)
    try:
        yield server
    finally:
        server.stop()
        with server.app.app_context():
            _db.engine.dispose()


@pytest.fixture
def site(browser, live_server, redis_url, request):
    """The test's browsers on the live server; what the test created is gone afterwards, as
    the ``app`` fixture leaves it for every other test."""
    site = Site(browser, live_server, request.node.name)
    try:
        yield site
    finally:
        site.close()
        with live_server.app.app_context():
            _db.session.remove()
            _truncate_all()
        client = redis_lib.Redis.from_url(redis_url)
        _flush_except_claim(client)
        client.close()
