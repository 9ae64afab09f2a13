"""Fixtures for the account tests: a real queue, an SMTP sink the app sends its mail to, a
merchant's owner and a browser."""

from __future__ import annotations

import logging

import pytest
from account_support import Browser
from smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def app_config(redis_url, redis_client, smtp_sink) -> dict:
    """The run's queue, and mail to the sink."""
    return {"REDIS_URL": redis_url, "MAIL_SMTP_URL": smtp_sink.url}


@pytest.fixture
def owner(factories):
    """(merchant, owner user)."""
    return factories.make_merchant()


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def mail_log():
    """The lines the ``kadosei.mail`` logger writes (it does not propagate to the root)."""

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.lines: list[str] = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("kadosei.mail")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
