"""The contract's field rules for a new payment session (docs/api.md §4), one function per rule."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kadosei.errors import invalid, missing
from kadosei.models import PAYMENT_METHODS
from kadosei.services import validation
from kadosei.services.currencies import is_currency

FIELDS = frozenset(
    {
        "amount",
        "currency",
        "payment_method",
        "success_url",
        "cancel_url",
        "reference",
        "description",
        "customer_email",
        "metadata",
        "expires_in",
    }
)
MAX_AMOUNT = 99_999_999
MAX_URL_LENGTH = 2048
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
DEFAULT_EXPIRES_IN = 3600
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
_FORBIDDEN_URL_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class SessionFields:
    amount: int
    currency: str
    payment_method: str
    success_url: str
    cancel_url: str
    reference: str | None = None
    description: str | None = None
    customer_email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    expires_in: int = DEFAULT_EXPIRES_IN


def parse_session_fields(data: dict, mode: str) -> SessionFields:
    """Every rule of the create table, in its order; the first broken one is a 400."""
    validation.reject_unknown(data, FIELDS)
    amount = validation.integer(data, "amount", minimum=1, maximum=MAX_AMOUNT, required=True)
    return SessionFields(
        amount=amount,
        currency=_currency(data),
        payment_method=validation.choice(data, "payment_method", PAYMENT_METHODS, required=True),
        success_url=redirect_url(data, "success_url", mode),
        cancel_url=redirect_url(data, "cancel_url", mode),
        reference=validation.string(data, "reference", max_length=255),
        description=validation.string(data, "description", max_length=1000),
        customer_email=validation.email(data, "customer_email"),
        metadata=_metadata(data),
        expires_in=validation.integer(data, "expires_in", minimum=300, maximum=86400)
        or DEFAULT_EXPIRES_IN,
    )


def _currency(data: dict) -> str:
    value = data.get("currency")
    if value is None:
        raise missing("currency")
    if not is_currency(value):
        raise invalid("currency", "currency must be an upper-case ISO 4217 code, e.g. EUR")
    return value


def redirect_url(data: dict, name: str, mode: str) -> str:
    """An absolute https URL the customer is sent to (http only to loopback, in test mode)."""
    value = data.get(name)
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not value:
        raise invalid(name, f"{name} must be an absolute https URL")
    if len(value) > MAX_URL_LENGTH:
        raise invalid(name, f"{name} must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_URL_CHARACTERS.search(value):
        raise invalid(name, f"{name} must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise invalid(name, f"{name} is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise invalid(name, f"{name} must be an absolute https URL")
    if "@" in parts.netloc:
        raise invalid(name, f"{name} must not contain credentials")
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise invalid(name, f"{name} has an invalid host (use punycode for IDNs)")
    if parts.scheme == "http" and not (mode == "test" and is_loopback_host(host)):
        raise invalid(name, f"{name} must use https (http only for localhost in test mode)")
    return value


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host)) and not host.replace(".", "").isdigit()


def _metadata(data: dict) -> dict[str, str]:
    value = data.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("metadata", "metadata must be an object of string values")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid("metadata", f"metadata may have at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        param = f"metadata.{key}"
        if not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise invalid(param, f"metadata keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters")
        if not isinstance(item, str):
            raise invalid(param, f"{param} must be a string")
        if len(item) > MAX_METADATA_VALUE_LENGTH:
            raise invalid(param, f"{param} must be at most {MAX_METADATA_VALUE_LENGTH} characters")
    return dict(value)
