"""A merchant's cancel racing the customer's payment on the sandbox provider's hosted page:
like a real PSP, the provider lets exactly one of them win (issue 9, defect 7). Either the
checkout ends (the cancel answers ``canceled`` and the card is never charged) or the payment
goes through (the cancel answers 422 and the session ends ``succeeded``)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from payments_support import csrf_token, path_of, run_jobs
from sqlalchemy import select, text

from kadosei.models import Attempt
from kadosei.sandbox.models import SandboxPayment

CARD = "4242424242424242"
ROUNDS = 15


def _ready_to_race(app, merchant, customer) -> tuple[dict, str, str, str]:
    """An open session whose hosted card form is on the customer's screen: (session, page
    path, CSRF token, provider reference)."""
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)
    page = customer.client.get(path_of(hosted))
    token = csrf_token(page.get_data(as_text=True))
    reference = Attempt.query.filter_by(session_id=session["id"]).one().provider_reference
    return session, path_of(hosted), token, reference


def _race(app, merchant, customer, session, page, token, before_release=None):
    """Press pay and cancel at once, from two threads with a client each."""
    start = threading.Barrier(2)
    api = app.test_client()  # the merchant's server, beside the customer's browser

    def pay():
        with app.app_context():  # a thread of its own, as a server's worker thread
            start.wait()
            return customer.client.post(page, data={"csrf_token": token, "card_number": CARD})

    def cancel():
        with app.app_context():
            start.wait()
            return api.post(
                f"/api/v1/payment_sessions/{session['id']}/cancel", headers=merchant.headers
            )

    with ThreadPoolExecutor(2) as pool:
        paid, canceled = pool.submit(pay), pool.submit(cancel)
        if before_release is not None:
            before_release()
        return paid.result(timeout=60), canceled.result(timeout=60)


def _assert_one_winner(app, db, merchant, session, reference, paid, canceled) -> str:
    assert paid.status_code == 303
    db.session.expire_all()
    row = db.session.scalar(select(SandboxPayment).where(SandboxPayment.id == reference))
    if canceled.status_code == 200:
        assert canceled.json["status"] == "canceled"
        # The checkout ended first: the customer's card was never charged.
        assert (row.status, row.card_last4) == ("expired", None), (row.status, row.card_last4)
        return "cancel"
    assert canceled.status_code == 422, canceled.json
    assert canceled.json["error"]["code"] == "session_not_cancelable"
    assert (row.status, row.card_last4) == ("succeeded", CARD[-4:])
    run_jobs(app)
    assert merchant.session(session["id"])["status"] == "succeeded"
    return "payment"


def test_pay_and_cancel_at_once_never_both_win(app, db, merchant, customer):
    """Threads against the app, many rounds, on SQLite or PostgreSQL."""
    winners = []
    for _ in range(ROUNDS):
        session, page, token, reference = _ready_to_race(app, merchant, customer)
        paid, canceled = _race(app, merchant, customer, session, page, token)
        winners.append(_assert_one_winner(app, db, merchant, session, reference, paid, canceled))
    assert set(winners) <= {"cancel", "payment"}


def _waiting_on_locks(conn) -> int:
    return conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    ).scalar_one()


@pytest.mark.parametrize("round_", range(3))
def test_pay_and_cancel_arriving_at_the_same_instant_never_both_win(
    app, db, merchant, customer, round_
):
    """Deterministic on PostgreSQL: the provider's payment row is held while both requests
    reach it, then released, so both have read it as pending before either writes."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("holding a row for a deterministic race needs PostgreSQL")
    session, page, token, reference = _ready_to_race(app, merchant, customer)
    holder = db.engine.connect()
    watcher = db.engine.connect()
    holder.begin()
    holder.execute(
        select(SandboxPayment.pk).where(SandboxPayment.id == reference).with_for_update()
    )

    waiting = []

    def release_once_both_wait():
        deadline = time.monotonic() + 15
        while _waiting_on_locks(watcher) < 2 and time.monotonic() < deadline:
            watcher.commit()
            time.sleep(0.02)
        waiting.append(_waiting_on_locks(watcher))
        holder.rollback()

    try:
        paid, canceled = _race(
            app, merchant, customer, session, page, token, before_release=release_once_both_wait
        )
    finally:
        holder.close()
        watcher.close()
    assert waiting == [2]  # both had reached the payment before either could change it
    _assert_one_winner(app, db, merchant, session, reference, paid, canceled)
