"""Two tabs (or a double click) racing on one checkout against a live threaded server: one
session never gets two live attempts (docs/api.md §5 step 2)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from werkzeug.serving import make_server

from kadosei.models import Attempt
from tests.conftest import make_test_app


def test_racing_tabs_share_one_live_attempt(database_url, redis_url, merchant):
    session = merchant.create_session()
    server_app = make_test_app(database_url, redis_url, KADOSEI_PROXY_COUNT=1)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/checkout/{session['id']}"
    start = threading.Barrier(8)

    def open_tab(_):
        start.wait()
        return requests.get(
            url, headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=30
        )

    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(open_tab, range(8)))
    finally:
        server.shutdown()
        with server_app.app_context():
            from kadosei.extensions import db

            db.engine.dispose()

    attempts = Attempt.query.filter_by(session_id=session["id"]).all()
    assert len(attempts) == 1 and attempts[0].status == "pending"
    redirects = {r.headers["Location"] for r in responses if r.status_code == 303}
    assert redirects == {attempts[0].hosted_url}
    assert all(r.status_code in (303, 200) for r in responses)  # 200: "preparing", try again
