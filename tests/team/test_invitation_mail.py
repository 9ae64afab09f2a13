"""The invitation's link is also mailed to the invitee, by the jobs worker (§11)."""

from __future__ import annotations

import logging

import pytest

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url}


def test_the_invitation_link_is_mailed_to_the_invitee(app, client, factories):
    """Without SMTP (development) the worker writes the mail, link included, to the log."""
    merchant, owner = factories.make_merchant()
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Keep(logging.INFO)
    logger = logging.getLogger("kadosei.mail")
    logger.addHandler(handler)
    logger.disabled = False
    try:
        created = client.post(
            "/api/v1/team/invitations",
            json={"email": "newdev@shop.example", "role": "developer"},
            headers=factories.jwt_headers(owner),
        )
        assert created.status_code == 201
        worker = AppWorker([get_queue(app)], connection=redis_connection(app))
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    finally:
        logger.removeHandler(handler)

    mails = [line for line in lines if "newdev@shop.example" in line]
    assert len(mails) == 1
    assert created.json["accept_url"] in mails[0]
    assert merchant.name in mails[0]
