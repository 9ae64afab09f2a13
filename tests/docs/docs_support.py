"""Helpers for the docs tests: read a page's code samples and run them as a newcomer would."""

from __future__ import annotations

import html
import re
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker

_CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def code_sample(page: str, sample_id: str) -> str:
    """The text of ``<code id="sample_id">`` on a rendered page, as a reader copies it."""
    match = re.search(rf'<code id="{re.escape(sample_id)}">(.*?)</code>', page, re.S)
    assert match, f"the page has no code sample {sample_id!r}"
    return html.unescape(match.group(1))


def exported_names(sample: str) -> list[str]:
    """The shell variables a sample tells the reader to ``export``."""
    return re.findall(r"^export ([A-Z_]+)=", sample, re.M)


@dataclass
class Curl:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def send(self, client):
        """Send it through the test client (which speaks HTTPS to the app)."""
        return client.open(self.path, method=self.method, headers=self.headers, data=self.body)


def parse_curl(sample: str, variables: dict[str, str]) -> Curl:
    """The one ``curl`` command of a sample, its ``$VARIABLES`` filled in as a shell would.
    An unknown variable fails the test: the sample uses something the reader never set."""
    lines = [line for line in sample.splitlines() if not line.startswith("export ")]
    command = "\n".join(lines).replace("\\\n", " ")
    command = re.sub(r"\$([A-Z_]+)", lambda m: variables[m.group(1)], command)
    words = shlex.split(command, comments=True)
    assert words[0] == "curl", words
    curl = Curl(method="GET", url="")
    rest = iter(words[1:])
    for word in rest:
        if word == "-s":
            continue
        if word == "-H":
            name, _, value = next(rest).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif word == "-d":
            curl.body = next(rest)
            curl.method = "POST"
        elif word == "-X":
            curl.method = next(rest)
        else:
            assert not word.startswith("-"), f"unexpected curl option {word}"
            assert not curl.url, f"two URLs in one curl: {curl.url} {word}"
            curl.url = word
    return curl


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pay_by_card(client, checkout_url: str, card_number: str) -> str:
    """A customer opens the checkout, pays on the sandbox's hosted page and is sent back to
    kadosei; returns where kadosei sends them next."""
    hosted = client.get(path_of(checkout_url))
    assert hosted.status_code == 303, hosted.data[:300]
    page = client.get(path_of(hosted.headers["Location"]))
    token = _CSRF.search(page.get_data(as_text=True)).group(1)
    paid = client.post(
        path_of(hosted.headers["Location"]), data={"csrf_token": token, "card_number": card_number}
    )
    assert paid.status_code == 303, paid.data[:300]
    back = client.get(path_of(paid.headers["Location"]))
    assert back.status_code in (200, 303), back.data[:300]
    return back.headers.get("Location", "")


def run_jobs() -> None:
    """Run every queued job (sandbox notifications, webhook deliveries) as the worker would."""
    AppWorker([get_queue()], connection=redis_connection()).work(
        burst=True, with_scheduler=False, logging_level="WARNING"
    )


@contextmanager
def serving(wsgi_app) -> Iterator[str]:
    """Serve a WSGI app on a real local port (kadosei's webhooks go out over HTTP); yields its
    base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
