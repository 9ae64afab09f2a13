"""The embedded queue server: a Redis-protocol server in pure Python (fakeredis) so that
development needs no install. Production points ``REDIS_URL`` at a real Redis instead."""

from __future__ import annotations

import select
import socket
import threading

import redis
from fakeredis import TcpFakeServer
from fakeredis._clients._tcp_server import TCPFakeRequestHandler

_POLL_SECONDS = 0.1


class _RequestHandler(TCPFakeRequestHandler):
    """fakeredis' handler, except that a command error (e.g. ``NOSCRIPT``, which redis-py
    answers with ``SCRIPT LOAD``) is replied to and the connection kept, as Redis does."""

    def setup(self) -> None:
        # Replies go out one small write per command: without TCP_NODELAY, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every pipelined round trip.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def handle(self) -> None:
        while not self.server._shutdown_event.is_set():
            try:
                if self.current_client.can_read():
                    self.writer.dump(self.current_client.read_response())
                    continue
                data = self.rfile.readline()
                if data == b"":
                    readable, _, _ = select.select([self.connection], [], [], _POLL_SECONDS)
                    if not readable:
                        continue
                    data = self.rfile.readline()
                    if data == b"":
                        break
                self.current_client.get_socket().sendall(data)
            except redis.ResponseError as exc:
                self.writer.dump(exc)
            except (ConnectionError, OSError):
                break


class EmbeddedRedisServer:
    """A loopback-only Redis-compatible server on a thread; ``port=0`` picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = TcpFakeServer((host, port))
        self._server.RequestHandlerClass = _RequestHandler
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-redis", daemon=True
        )
        self.host, self.port = self._server.server_address[:2]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> EmbeddedRedisServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
