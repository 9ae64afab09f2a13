"""Where webhooks may go: the SSRF guard, applied when an endpoint is saved and again, after DNS,
right before every delivery try.

Live mode: ``https`` only, and every address the host resolves to must be public (not loopback,
private, CGNAT, link-local, multicast, reserved, unspecified, nor an IPv6 form embedding such an
IPv4 address), whatever the settings. Test mode: ``http`` too, and loopback/private addresses
only when ``KADOSEI_WEBHOOK_ALLOW_PRIVATE`` is set; link-local (cloud metadata), multicast,
reserved and unspecified addresses never.

Against DNS rebinding, delivery connects to the very address that was checked
(:class:`Destination` pins it) instead of resolving the name a second time.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import Enum
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeDestination(Exception):
    """The URL may not receive webhooks in this mode; ``str(exc)`` says why, for the merchant."""


class AddressKind(Enum):
    PUBLIC = "public"
    LOCAL = "local"  # loopback or private: test mode with KADOSEI_WEBHOOK_ALLOW_PRIVATE only
    FORBIDDEN = "forbidden"  # never: link-local, multicast, reserved, unspecified, …


@dataclass(frozen=True)
class Destination:
    """A checked URL pinned to one checked address: connect to ``address``, say ``host``."""

    url: str
    scheme: str
    hostname: str
    port: int
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (``Host`` keeps the name)."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return parts._replace(netloc=f"{host}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


def classify_address(address: IPAddress) -> AddressKind:
    """Whether an address is public, local (loopback/private) or never acceptable."""
    embedded = _embedded_ipv4(address) if address.version == 6 else None
    if embedded is not None:
        return classify_address(embedded)
    if address.is_loopback:
        return AddressKind.LOCAL
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return AddressKind.FORBIDDEN
    if address.is_reserved:
        return AddressKind.FORBIDDEN
    if any(address in network for network in _LOCAL_NETWORKS):
        return AddressKind.LOCAL
    return AddressKind.PUBLIC if address.is_global else AddressKind.FORBIDDEN


def check_endpoint_url(url: str, mode: str, *, allow_private: bool) -> str:
    """Validate a URL a merchant gives for ``mode``; returns it, or raises UnsafeDestination.

    A host name is resolved now when it can be: one that resolves to a refused address is
    refused. One that does not resolve yet is accepted; delivery checks it again after DNS.
    """
    parts = _parse(url, mode)
    try:
        addresses = _resolve(parts.hostname or "", _port(parts))
    except UnsafeDestination:
        return url  # not resolvable (yet): delivery checks it again after DNS
    for address in addresses:
        _check_address(address, mode, allow_private=allow_private)
    return url


def resolve_destination(url: str, mode: str, *, allow_private: bool) -> Destination:
    """Check ``url`` once more, resolve it and pin the first address; every address the name
    resolves to must be acceptable (a name mixing public and internal answers is refused)."""
    parts = _parse(url, mode)
    port = _port(parts)
    addresses = _resolve(parts.hostname or "", port)
    for address in addresses:
        _check_address(address, mode, allow_private=allow_private)
    return Destination(
        url=url,
        scheme=parts.scheme,
        hostname=parts.hostname or "",
        port=port,
        address=addresses[0],
    )


def _parse(url: str, mode: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise UnsafeDestination("url must be an absolute URL")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"url must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeDestination("url must not contain spaces or control characters")
    parts = urlsplit(url)
    allowed = ("https",) if mode == "live" else ("http", "https")
    if parts.scheme not in allowed:
        if mode == "live":
            raise UnsafeDestination("Live-mode webhook endpoints must use https")
        raise UnsafeDestination("url must be an absolute http or https URL")
    if not parts.hostname:
        raise UnsafeDestination("url must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("url must not contain credentials")
    if "%" in parts.hostname:
        raise UnsafeDestination("url must not use a scoped IPv6 address")
    _port(parts)
    return parts


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UnsafeDestination("url has an invalid port") from None
    if port == 0:
        raise UnsafeDestination("url has an invalid port")
    return port or (443 if parts.scheme == "https" else 80)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"Could not resolve {host}: {exc}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeDestination(f"Could not resolve {host}")
    return addresses


def _check_address(address: IPAddress, mode: str, *, allow_private: bool) -> None:
    kind = classify_address(address)
    if kind is AddressKind.PUBLIC:
        return
    if kind is AddressKind.LOCAL and mode == "test" and allow_private:
        return
    if mode == "live":
        raise UnsafeDestination(
            f"Live-mode webhook endpoints must be public: {address} is an internal address"
        )
    raise UnsafeDestination(
        f"url resolves to {address}, an internal address "
        "(test mode allows loopback and private addresses only where "
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE is set)"
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
