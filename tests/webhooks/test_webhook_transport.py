"""The pinned HTTPS transport: kadosei connects to the address the SSRF guard checked, while TLS
still sends SNI for, and verifies the certificate against, the URL's host name."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kadosei.webhooks.destinations import Destination
from kadosei.webhooks.transport import post

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for ``localhost`` only."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Host"], self.headers.get("webhook-id")))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(cert), seen
    server.shutdown()
    server.server_close()


def destination(hostname: str, port: int) -> Destination:
    return Destination(
        url=f"https://{hostname}:{port}/hooks",
        scheme="https",
        hostname=hostname,
        port=port,
        address=ipaddress.ip_address("127.0.0.1"),
    )


def test_https_to_the_pinned_address_verifies_the_host_names_certificate(tls_receiver):
    port, ca, seen = tls_receiver
    result = post(destination("localhost", port), b"{}", {"webhook-id": "evt_1"}, 2.0, verify=ca)
    assert result.error is None and result.status_code == 204 and result.succeeded
    assert seen == [(f"localhost:{port}", "evt_1")]


def test_a_certificate_for_another_name_is_refused(tls_receiver):
    port, ca, seen = tls_receiver
    result = post(destination("hooks.example.com", port), b"{}", {}, 2.0, verify=ca)
    assert result.status_code is None and result.error.startswith("TLS error")
    assert seen == []


def test_an_untrusted_certificate_is_refused(tls_receiver):
    port, _, seen = tls_receiver
    result = post(destination("localhost", port), b"{}", {}, 2.0)
    assert result.status_code is None and result.error.startswith("TLS error")
    assert seen == []
