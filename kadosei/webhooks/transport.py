"""The one HTTP session webhooks go out through: pinned to the checked address, a timeout on
every try, no redirects, no proxies from the environment, a capped response body — and none at
all from a loopback or private address (test mode with ``KADOSEI_WEBHOOK_ALLOW_PRIVATE``), so
the delivery log cannot be used to read internal services."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from kadosei.webhooks.destinations import AddressKind, Destination, classify_address

RESPONSE_BODY_LIMIT = 2048  # bytes of the receiver's answer kept in the delivery log
PRIVATE_BODY_NOTE = "(body not kept: private address)"
_CHUNK = 512
# Kept-alive connections per destination: a worker's delivery threads (16 by default) may all be
# sending to one host (many merchants behind one platform); beyond it, connections are not kept.
_CONNECTIONS_PER_HOST = 16


@dataclass(frozen=True)
class TryResult:
    """What one HTTP try came to, as the delivery log records it."""

    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class PinnedHostAdapter(HTTPAdapter):
    """Connects to the URL's (already checked) IP address while TLS still sends SNI for, and
    verifies the certificate against, the host name the ``Host`` header carries."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_header = request.headers.get("Host")
        if host_params.get("scheme") == "https" and host_header:
            hostname = urlsplit(f"//{host_header}").hostname
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


_session: requests.Session | None = None
_session_lock = threading.Lock()


def http_session() -> requests.Session:
    """The process's webhook session, shared by its delivery threads (keep-alive per
    destination); built on first use."""
    global _session
    with _session_lock:
        if _session is not None:
            return _session
        session = requests.Session()
        session.trust_env = False  # an environment proxy would bypass the address pinning
        # No cookies: one merchant's receiver must not set what another's is sent.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = PinnedHostAdapter(
            pool_connections=32, pool_maxsize=_CONNECTIONS_PER_HOST, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _session = session
    return _session


def post(
    destination: Destination,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    verify: bool | str = True,
) -> TryResult:
    """POST ``body`` to the pinned destination; never raises for network trouble.
    ``verify`` is the trust store (a CA bundle path in tests; the system's otherwise)."""
    started = time.monotonic()
    status_code = response_body = error = None
    try:
        # Prepared here rather than by ``Session.post``: the session has nothing to merge in
        # (no cookies kept, no auth, no proxies), and merging it costs a worker more CPU per
        # try than the rest of the request.
        request = requests.Request(
            "POST",
            destination.pinned_url,
            data=body,
            headers={**headers, "Host": destination.host_header},
        ).prepare()
        with http_session().send(
            request,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
            verify=verify,
            proxies={},
        ) as response:
            status_code = response.status_code
            # Read even what is not kept: a connection whose answer was read to the end goes
            # back to the pool (keep-alive) instead of being closed after every try.
            response_body = read_capped_body(response, deadline=started + timeout)
            if classify_address(destination.address) is not AddressKind.PUBLIC:
                response_body = PRIVATE_BODY_NOTE
    except requests.Timeout:
        error = f"Timed out after {timeout:g} s"
    except requests.exceptions.SSLError as exc:
        error = f"TLS error: {_short(exc)}"
    except requests.ConnectionError as exc:
        error = f"Could not connect: {_short(exc)}"
    except requests.RequestException as exc:
        error = f"Request failed: {_short(exc)}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return TryResult(status_code, response_body, error, duration_ms)


def read_capped_body(response: requests.Response, *, deadline: float) -> str:
    """Up to RESPONSE_BODY_LIMIT bytes of the answer, stopping at the try's deadline."""
    kept = b""
    try:
        for chunk in response.iter_content(_CHUNK):
            kept += chunk
            if len(kept) >= RESPONSE_BODY_LIMIT or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass  # the status code is what counts; a broken body is not a failed try
    return kept[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "…"
