"""The browser tests' world: kadosei on a real HTTP server thread, a tiny shop beside it, and
a real Chromium driven by Playwright (never a downloaded browser).

``Site`` is what a test holds: ``new_page(width)``, ``signup()``, ``login()``, ``signed_in()``
and a few portal steps, so a new flow (an invited teammate, a password reset, two-factor)
is a handful of lines.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

DESKTOP = 1280
PHONE = 390
PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("KADOSEI_CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium, headless, talking to nothing but the test server.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("KADOSEI_ARTIFACTS") or Path(__file__).parent / "artifacts")
# Every wait is bounded: a broken page fails in seconds, not minutes.
TIMEOUT_MS = 10_000

_numbers = itertools.count(1)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KADOSEI_CHROMIUM); "
            "the browser tests never download one"
        )
    return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the test output is about the test
        pass


def _shop(environ, start_response):
    """The merchant's own site: where the customer lands after paying or giving up."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    session_id = escape(query.get("session_id", [""])[0])
    title = "Thank you" if environ["PATH_INFO"].endswith("/thanks") else "Your cart"
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><p id='session'>{session_id}</p></body></html>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]


class LiveServer:
    """kadosei served over real HTTP on a free loopback port, in a thread; ``/shop/…`` is the
    merchant's site (``success_url`` and ``cancel_url`` point there)."""

    def __init__(self, build_app) -> None:
        self.app = None
        self.server = make_server(
            "127.0.0.1", 0, self._dispatch, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # The public URL is only known once the port is: the app is built with it.
        self.app = build_app(self.url)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _dispatch(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/shop/"):
            return _shop(environ, start_response)
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)
        self.server.server_close()


@dataclass
class Account:
    shop: str
    email: str
    password: str = PASSWORD


class Site:
    """One test's view of the running kadosei: browser pages and the steps people take."""

    def __init__(self, browser, server: LiveServer, test_name: str) -> None:
        self.browser = browser
        self.server = server
        self.url = server.url
        self.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self._contexts = []

    # --- pages -------------------------------------------------------------------------
    def new_page(self, width: int = DESKTOP, height: int = 900):
        """A fresh browser (its own cookies) showing nothing yet, ``width`` CSS pixels wide."""
        context = self.browser.new_context(
            base_url=self.url,
            viewport={"width": width, "height": height},
            accept_downloads=True,
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self._contexts.append(context)
        return context.new_page()

    def close(self) -> None:
        for context in self._contexts:
            context.close()

    def screenshot(self, page, name: str) -> Path:
        """A full-page screenshot kept as a test artifact (``KADOSEI_ARTIFACTS``)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        path = ARTIFACTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    # --- people ------------------------------------------------------------------------
    def signup(self, page=None, *, shop: str | None = None, email: str | None = None) -> Account:
        """Sign up a new merchant on /signup; the page ends on the log-in page."""
        n = next(_numbers)
        account = Account(
            shop=shop or f"Blue Heron Books {n}",
            email=email or f"owner{n}-{os.getpid()}@example.com",
        )
        page = page or self.new_page()
        page.goto("/signup")
        page.get_by_label("Business name").fill(account.shop)
        page.get_by_label("Work e-mail").fill(account.email)
        page.get_by_label("Password", exact=True).fill(account.password)
        page.get_by_label("Repeat password").fill(account.password)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/login")
        return account

    def login(self, page, account: Account) -> None:
        page.goto("/login")
        page.get_by_label("E-mail").fill(account.email)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")

    def signed_in(self, width: int = DESKTOP, account: Account | None = None):
        """(page, account): a new merchant (unless given), logged in, on the portal."""
        page = self.new_page(width)
        account = account or self.signup(page)
        self.login(page, account)
        return page, account

    # --- portal steps ------------------------------------------------------------------
    def create_application(self, page, name: str = "Web store") -> str:
        """Create an application from the portal's first page; returns its id."""
        page.goto("/")
        form = page.locator("form", has=page.get_by_role("button", name="Create application"))
        form.get_by_label("Name").fill(name)
        form.get_by_role("button", name="Create application").click()
        page.wait_for_url(re.compile(r"/applications/app_\w+$"))
        return urlsplit(page.url).path.rsplit("/", 1)[1]

    def create_api_key(self, page, app_id: str, mode: str = "test") -> str:
        """Create a key on the application's page; returns the secret shown (once)."""
        page.goto(f"/applications/{app_id}")
        form = page.locator("form", has=page.get_by_role("button", name="Create API key"))
        form.get_by_label("Mode").select_option(mode)
        form.get_by_role("button", name="Create API key").click()
        page.wait_for_url(re.compile(r"/api_keys/\w+/new$"))
        return page.locator("#secret").inner_text().strip()

    def invite(self, page, email: str, role: str) -> str:
        """An owner invites ``email`` as ``role`` on /team; returns the link shown (once)."""
        page.goto("/team")
        form = page.locator("form", has=page.get_by_role("button", name="Create invitation link"))
        form.get_by_label("E-mail").fill(email)
        form.get_by_label("Role").select_option(role)
        form.get_by_role("button", name="Create invitation link").click()
        page.wait_for_load_state()
        return page.locator("#accept-url").inner_text().strip()

    def accept_invitation(self, link: str, email: str, width: int = DESKTOP, name: str = "Ann"):
        """The invited person opens ``link`` in their own browser, sets a name and password and
        is signed in; returns (page, account)."""
        page = self.new_page(width)
        page.goto(link)
        page.get_by_label("Your name").fill(name)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat password").fill(PASSWORD)
        page.get_by_role("button", name="Join the team").click()
        page.wait_for_url(lambda url: "/invitations/" not in url)
        return page, Account(shop="", email=email)

    def logout(self, page) -> None:
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")

    def run_jobs(self) -> list[str]:
        """Run the queued jobs as the worker would; returns the mails they wrote to the log
        (no SMTP server in development: the ``kadosei.mail`` logger gets the text)."""
        from kadosei.jobs.queue import get_queue, redis_connection
        from kadosei.jobs.worker import AppWorker

        mails: list[str] = []

        class Capture(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                mails.append(record.getMessage())

        logger = logging.getLogger("kadosei.mail")
        handler, was_disabled, level = Capture(), logger.disabled, logger.level
        logger.disabled = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            app = self.server.app
            with app.app_context():
                worker = AppWorker([get_queue(app)], connection=redis_connection(app))
                worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        finally:
            logger.removeHandler(handler)
            logger.disabled, logger.level = was_disabled, level
        return mails

    def post_form(self, page, path: str, data: dict | None = None):
        """POST ``path`` from ``page``'s browser (its cookies, its CSRF token), as a hand-built
        form would: the answer is the server's, not the page's offer."""
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        return page.request.post(path, form={"csrf_token": token, **(data or {})})

    # --- the merchant's server ---------------------------------------------------------
    def create_session(self, secret: str, **overrides) -> dict:
        """``POST /api/v1/payment_sessions`` as the merchant's server does, over HTTP."""
        body = {
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": f"{self.url}/shop/thanks",
            "cancel_url": f"{self.url}/shop/cart",
            **overrides,
        }
        response = requests.post(
            f"{self.url}/api/v1/payment_sessions",
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def get_session(self, secret: str, session_id: str) -> dict:
        response = requests.get(
            f"{self.url}/api/v1/payment_sessions/{session_id}",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    # --- the customer --------------------------------------------------------------------
    def pay_by_card(self, page, session: dict, card_number: str = "4242424242424242") -> None:
        """Open the checkout, pay on the sandbox provider's page; ends on the shop's site."""
        page.goto(session["checkout_url"])
        page.wait_for_url(re.compile(r"/sandbox/\w+/pay/"))
        page.get_by_label("Card number").fill(card_number)
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        page.wait_for_url(re.compile(r"/shop/"))


# WHATWG autofill field names a form of ours may use (and on/off).
AUTOFILL = [
    "on", "off", "name", "given-name", "family-name", "nickname", "username", "email",
    "new-password", "current-password", "one-time-code", "organization", "organization-title",
    "street-address", "address-line1", "address-line2", "postal-code", "country",
    "country-name", "tel", "url", "language", "cc-name", "cc-number", "cc-exp", "cc-csc",
    "transaction-amount", "transaction-currency", "bday",
]  # fmt: skip

CHECKS = (Path(__file__).parent / "page_checks.js").read_text()


def page_problems(page) -> list[str]:
    """What is wrong with the page as it is: sideways scrolling, then markup a person using a
    keyboard, a screen reader or a password manager would trip on."""
    overflow = page.evaluate(f"{CHECKS}.overflow()")
    problems = [f"scrolls sideways: {item}" for item in overflow]
    problems += page.evaluate(f"(autofill) => {CHECKS}.accessibility(autofill)", AUTOFILL)
    return problems + page.evaluate(f"{CHECKS}.contrast()")
