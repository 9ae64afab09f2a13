"""The contract's field types: each a type plus the rule, with the limits of ``limits``.

A broken rule raises ``PydanticCustomError("parameter_invalid" | "parameter_missing", …)``
whose message is a predicate ("must be …"); ``parsing.request_error`` puts the parameter's
name in front. A few conventions carried over from the first contract:

- a string is trimmed, and blank is the same as absent;
- ``null`` for an optional field is the same as leaving it out (``RequestBody``);
- integers are integers: no ``true``, no ``1999.0``, no ``"1999"`` (the models are strict).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from kadosei.currencies import all_currencies, is_currency
from kadosei.schemas import limits
from kadosei.schemas.vocabulary import (
    CAPTURE_METHODS,
    EVENT_TYPES,
    MODES,
    PAYMENT_METHODS,
    REFUND_REASONS,
    REFUND_STATUSES,
    ROLES,
    SESSION_STATUSES,
)

INVALID = "parameter_invalid"
MISSING = "parameter_missing"


def _invalid(predicate: str) -> PydanticCustomError:
    return PydanticCustomError(INVALID, predicate)


def _missing() -> PydanticCustomError:
    return PydanticCustomError(MISSING, "is required")


def _trimmed(value: object) -> str | None:
    """A string, trimmed; ``None`` when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("must be a string")
    if "\x00" in value:
        raise _invalid("must not contain NUL characters")
    return value.strip() or None


def _required_trimmed(value: object) -> str:
    text = _trimmed(value)
    if text is None:
        raise _missing()
    return text


def _present(value: object) -> object:
    """A credential: present and a string; its content is never judged (no hints)."""
    if value is None or value == "":
        raise _missing()
    if not isinstance(value, str):
        raise _invalid("must be a string")
    return value


def required_text(max_length: int, description: str | None = None):
    return Annotated[
        str,
        # ``\S``: blank is absent (the value is trimmed), and the document says so. (The
        # constraints come before the validator, or pydantic leaves them out of the schema.)
        Field(min_length=1, max_length=max_length, pattern=r"\S", description=description),
        BeforeValidator(_required_trimmed),
    ]


def optional_text(max_length: int, description: str | None = None):
    return Annotated[
        Annotated[str, Field(max_length=max_length)] | None,
        BeforeValidator(_trimmed),
        Field(description=description),
    ]


def credential(min_length: int = 1, max_length: int | None = None):
    """A secret or a log-in name: untrimmed, unjudged beyond its length."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), BeforeValidator(_present)
    ]


Credential = credential()
Mode = Literal[MODES]
PaymentMethod = Literal[PAYMENT_METHODS]
SessionStatus = Literal[SESSION_STATUSES]
CaptureMethod = Literal[CAPTURE_METHODS]
RefundReason = Literal[REFUND_REASONS]
RefundStatus = Literal[REFUND_STATUSES]
EventType = Literal[EVENT_TYPES]
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "canceled")
DeliveryStatus = Literal[DELIVERY_STATUSES]
SUBSCRIBABLE_EVENTS = tuple(t for t in EVENT_TYPES if t != "webhook.test")
SubscribableEvent = Literal[SUBSCRIBABLE_EVENTS]
TeamRole = Annotated[
    Literal[ROLES],
    Field(
        description="`owner`: everything, including the team and settings; `developer`: "
        "applications, keys, webhook endpoints and their secrets, payments; `viewer`: reads all "
        "but secrets, changes nothing"
    ),
]


# -- e-mail ---------------------------------------------------------------------------------


def _normalized_email(value: str | None) -> str | None:
    """A syntactically valid address, normalised (no DNS look-up)."""
    if value is None:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        reason = {"reason": str(exc)}  # as context: the template must not see its braces
        raise PydanticCustomError(
            INVALID, "is not a valid e-mail address: {reason}", reason
        ) from None


EmailField = Annotated[
    str, Field(max_length=limits.EMAIL_MAX, json_schema_extra={"format": "email"})
]
# Blank (or null) is no address at all, as for every optional string.
BlankOrEmail = Annotated[
    str,
    Field(max_length=limits.EMAIL_MAX),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email", "maxLength": limits.EMAIL_MAX},
                {"type": "string", "pattern": r"^\s*$"},
            ]
        }
    ),
]
OptionalEmail = Annotated[
    BlankOrEmail | None, BeforeValidator(_trimmed), AfterValidator(_normalized_email)
]
RequiredEmail = Annotated[
    EmailField, BeforeValidator(_required_trimmed), AfterValidator(_normalized_email)
]


# -- money ----------------------------------------------------------------------------------


def _currency(value: object) -> object:
    if not is_currency(value):
        raise _invalid("must be an upper-case ISO 4217 code, e.g. EUR")
    return value


Amount = Annotated[
    int,
    Field(
        ge=limits.AMOUNT_MIN,
        le=limits.AMOUNT_MAX,
        description="In the currency's minor unit (cents for EUR, yen for JPY)",
    ),
]
Currency = Annotated[
    Literal[tuple(sorted(all_currencies()))],
    BeforeValidator(_currency),
    Field(description="ISO 4217, upper case"),
]


# -- redirect URLs --------------------------------------------------------------------------

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
_FORBIDDEN_URL_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


def _redirect_url(value: str, info: ValidationInfo) -> str:
    """An absolute https URL the customer is sent to (http only to loopback, in test mode).

    The mode comes from the validation context (``parse(..., context={"mode": mode})``)."""
    if not value:
        raise _invalid("must be an absolute https URL")
    if _FORBIDDEN_URL_CHARACTERS.search(value):
        raise _invalid("must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise _invalid("is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise _invalid("must be an absolute https URL")
    if "@" in parts.netloc:
        raise _invalid("must not contain credentials")
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise _invalid("has an invalid host (use punycode for IDNs)")
    mode = (info.context or {}).get("mode")
    if parts.scheme == "http" and not (mode == "test" and is_loopback_host(host)):
        raise _invalid("must use https (http only for localhost in test mode)")
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


RedirectUrl = Annotated[
    str,
    Field(
        max_length=limits.URL_MAX,
        description="Absolute https URL (http only for a loopback host, in test mode)",
        json_schema_extra={"format": "uri"},
    ),
    AfterValidator(_redirect_url),
]


# -- metadata -------------------------------------------------------------------------------

MetadataKey = Annotated[str, Field(min_length=1, max_length=limits.METADATA_KEY_MAX)]
MetadataValue = Annotated[str, Field(max_length=limits.METADATA_VALUE_MAX)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(
        max_length=limits.METADATA_KEYS_MAX,
        description=f"Up to {limits.METADATA_KEYS_MAX} keys of at most "
        f"{limits.METADATA_KEY_MAX} characters; string values of at most "
        f"{limits.METADATA_VALUE_MAX}",
        json_schema_extra={"maxProperties": limits.METADATA_KEYS_MAX},
    ),
]
ExpiresIn = Annotated[
    int,
    Field(
        ge=limits.EXPIRES_IN_MIN,
        le=limits.EXPIRES_IN_MAX,
        description="Seconds until the session expires",
    ),
]
MaxAttempts = Annotated[
    int,
    Field(
        ge=limits.MAX_ATTEMPTS_MIN,
        le=limits.MAX_ATTEMPTS_MAX,
        description="Declined attempts the customer may make before the session is `failed`",
    ),
]


# -- webhook events -------------------------------------------------------------------------


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EventTypes = Annotated[
    list[SubscribableEvent],
    AfterValidator(_unique),
    Field(description="Event types to send; empty or absent: every type"),
]


# -- query strings --------------------------------------------------------------------------

_LIMIT = re.compile(r"[0-9]{1,3}")


def _query_limit(value: object) -> object:
    if isinstance(value, str):
        if not _LIMIT.fullmatch(value) or not 1 <= int(value) <= limits.PAGE_LIMIT_MAX:
            raise _invalid(f"must be an integer between 1 and {limits.PAGE_LIMIT_MAX}")
        return int(value)
    return value


def _query_text(value: object) -> object:
    """No database stores NUL: a query value with one matches nothing, so it is refused."""
    if isinstance(value, str) and "\x00" in value:
        raise _invalid("must not contain NUL characters")
    return value


def _blank_is_absent(value: object) -> object:
    return None if value == "" else value


BlankIsAbsent = BeforeValidator(_blank_is_absent)


PageLimit = Annotated[
    int,
    Field(ge=1, le=limits.PAGE_LIMIT_MAX, description="Page size"),
    BeforeValidator(_query_limit),
]
QueryText = Annotated[str, Field(pattern=r"^[^\x00]*$"), BeforeValidator(_query_text)]
