"""The committed ``gunicorn.conf.py`` as ``gunicorn wsgi:app`` uses it (§2): gunicorn trusts no
forwarding header of its own, and a request it can hand on gets kadosei's error envelope."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kadosei.config import BASE_DIR
from tests.conftest import TEST_SECRET

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn(database_url, _schema, tmp_path_factory):
    """A real gunicorn started from the repository root, as in production (``gunicorn
    wsgi:app`` reads ./gunicorn.conf.py), on a free loopback port; yields the port."""
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("KADOSEI_", "GUNICORN_", "FORWARDED_ALLOW_IPS"))
    }
    env.update(
        KADOSEI_ENV="testing",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        REDIS_URL="",
        KADOSEI_PUBLIC_URL="https://kadosei.test",
        KADOSEI_PROXY_COUNT="0",
    )
    log = (tmp_path_factory.mktemp("gunicorn") / "gunicorn.log").open("w")
    command = [str(GUNICORN), "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    process = subprocess.Popen(
        [*command, "--no-control-socket"], cwd=BASE_DIR, env=env, stdout=log, stderr=log
    )
    try:
        _wait_until_answering(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_answering(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        try:
            if _raw(port, b"GET /login HTTP/1.1\r\nHost: kadosei.test\r\n\r\n"):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within 60 s")


def _raw(port: int, request: bytes) -> bytes:
    """One request on its own connection (closed after), written byte for byte."""
    if b"Connection:" not in request:
        request = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "header", [b"X-Forwarded-Ssl: on", b"X-Forwarded-Protocol: ssl", b"X-Forwarded-Proto: https"]
)
def test_gunicorn_trusts_no_forwarded_scheme_header_from_a_local_client(gunicorn, header):
    request = b"GET /api/v1/merchant HTTP/1.1\r\nHost: kadosei.test\r\n" + header + b"\r\n\r\n"

    status, headers, body = _parse(_raw(gunicorn, request))

    assert status == 403
    assert json.loads(body)["error"]["code"] == "https_required"
    assert headers["x-request-id"]


def test_a_long_request_line_reaches_kadosei_and_gets_its_envelope(gunicorn):
    # Longer than gunicorn's default limit (4094 bytes), within the committed one.
    path = b"/api/v1/" + b"a" * 6000

    status, headers, body = _parse(_raw(gunicorn, b"GET " + path + b" HTTP/1.1\r\n\r\n"))

    assert status == 403  # plain HTTP: kadosei's answer, not gunicorn's 414 page
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    assert json.loads(body)["error"]["type"] == "permission_error"


def test_gunicorn_takes_no_wsgi_environ_from_request_headers(gunicorn):
    # gunicorn's default lets a local client set SCRIPT_NAME by header (and so PATH_INFO).
    request = b"GET /api/v1/merchant HTTP/1.1\r\nHost: kadosei.test\r\nSCRIPT_NAME: /api\r\n\r\n"

    status, _, body = _parse(_raw(gunicorn, request))

    assert status == 403
    assert json.loads(body)["error"]["code"] == "https_required"
