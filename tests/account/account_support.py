"""Helpers for the account tests: a browser on the portal that posts forms with their CSRF
token, log-in in one or two steps, TOTP codes, reset links read from a mail."""

from __future__ import annotations

import re
import time

import pyotp

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
RESET_LINK = re.compile(r"https://kadosei\.test(/password/reset/[A-Za-z0-9_.\-]+)")


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


class Browser:
    """A person on the portal: opens pages and submits their forms."""

    def __init__(self, client):
        self.client = client

    def submit(self, path: str, data: dict, *, form_on: str | None = None):
        page = self.client.get(form_on or path)
        assert page.status_code == 200, (form_on or path, page.status_code)
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(path, data={**data, "csrf_token": token})

    def login(self, email: str, password: str = PASSWORD):
        return self.submit("/login", {"email": email, "password": password})

    def second_factor(self, code: str):
        return self.submit("/login/two-factor", {"otp": code})

    def logged_in(self) -> bool:
        response = self.client.get("/settings")
        return response.status_code == 200 and "Log out everywhere" in response.get_data(
            as_text=True
        )


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator app's code now, or ``steps_ahead`` 30-second steps from now (a later
    step is still inside the accepted window, so tests can log in more than once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def run_jobs(app) -> None:
    """Run every queued job as ``flask worker`` would."""
    worker = AppWorker([get_queue(app)], connection=redis_connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


def reset_path_in(text: str) -> str:
    match = RESET_LINK.search(text)
    assert match, text
    return match.group(1)
