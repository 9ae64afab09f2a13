"""A small SMTP server for tests: it speaks enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT,
DATA, RSET, NOOP, QUIT) for smtplib, on 127.0.0.1, and keeps every message it receives."""

from __future__ import annotations

import base64
import email
import socketserver
import threading
from email.message import EmailMessage
from email.policy import default


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[tuple[str, str]] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                sink._converse(self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _converse(self, rfile, wfile) -> None:
        def say(line: str) -> None:
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        say("220 sink.test ESMTP")
        sender, recipients = "", []
        while True:
            raw = rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                say("250-sink.test")
                say("250-AUTH PLAIN")
                say("250 8BITMIME")
            elif verb == "HELO":
                say("250 sink.test")
            elif verb == "AUTH":
                _, mechanism, *rest = line.split(" ")
                assert mechanism.upper() == "PLAIN"
                _, user, password = base64.b64decode(rest[0]).decode().split("\x00")
                self.logins.append((user, password))
                say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].split()[0].strip("<>"), []
                say("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                say("250 OK")
            elif verb == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                self._receive(rfile)
                self.envelopes.append((sender, recipients))
                say("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                say("250 OK")
            elif verb == "QUIT":
                say("221 Bye")
                return
            else:
                say("502 Command not implemented")

    def _receive(self, rfile) -> None:
        lines = []
        while True:
            raw = rfile.readline()
            if raw in (b".\r\n", b""):
                break
            line = raw[1:] if raw.startswith(b"..") else raw  # undo dot-stuffing
            lines.append(line.replace(b"\r\n", b"\n"))  # stored as a local mailbox would
        self.messages.append(email.message_from_bytes(b"".join(lines), policy=default))
