"""Structured (JSON) logs: one object a line, with the request id and the merchant, application
and session the request is about where known, and nothing a log must not hold in clear (docs/
operations.md): card-like numbers, e-mail addresses, API keys, webhook secrets, bearer tokens
and JWTs are masked in the message, in every field and in exception text."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from flask import g, has_request_context, request

# Fields a log call may pass with ``extra=``; anything else a record carries is logging's own.
EXTRA_FIELDS = ("event", "session_id", "provider", "delivery_id", "refund_id", "endpoint_id")

_CARD_LIKE = re.compile(r"(?<![\w.])(?:\d[ -]?){12,18}\d(?![\w.])")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
_SECRET_PREFIXED = re.compile(r"\b(ks_(?:test|live)_|whsec_|ksr_|rt_)[A-Za-z0-9+/=_-]{6,}")
_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+")


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[card …{digits[-4:]}]"


def redact(text: str) -> str:
    """``text`` with every secret-, card- or e-mail-like part masked."""
    text = _JWT.sub("[jwt]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _SECRET_PREFIXED.sub(lambda m: f"{m.group(1)}[redacted]", text)
    text = _CARD_LIKE.sub(_mask_card, text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}…@{m.group(2)}", text)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))


class RequestIdFilter(logging.Filter):
    """Stamps each record with what the current request is about (``None`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _request_context() if has_request_context() else {}
        for key in ("request_id", "merchant_id", "application_id"):
            setattr(record, key, context.get(key))
        if not hasattr(record, "session_id") and context.get("session_id"):
            record.session_id = context["session_id"]
        return True


def _request_context() -> dict[str, str | None]:
    # The API's caller (g.merchant / g.application), or a portal user flask-login has already
    # loaded for this request (never loaded here: logging must not query the database).
    merchant = g.get("merchant") or g.get("_login_user")
    application = g.get("application")
    view_args = request.view_args or {}
    session_id = view_args.get("session_id")
    return {
        "request_id": g.get("request_id"),
        "merchant_id": _merchant_id(merchant) or _loaded(application, "merchant_id"),
        "application_id": _loaded(application, "id") or view_args.get("app_id"),
        "session_id": session_id if isinstance(session_id, str) else None,
    }


def _loaded(row: object, attribute: str) -> str | None:
    """An attribute a row already holds; never a database query (logging must not fail, nor
    touch the database, which may be the very thing that is down)."""
    value = getattr(row, "__dict__", {}).get(attribute)
    return value if isinstance(value, str) else None


def _merchant_id(holder: object) -> str | None:
    """A merchant's id, or a user's merchant's id (anonymous users have none)."""
    merchant_id = _loaded(holder, "merchant_id")
    if merchant_id:
        return merchant_id
    merchant_id = _loaded(holder, "id")
    return merchant_id if merchant_id and merchant_id.startswith("mer") else None


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's ids, extras,
    exception — all redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "merchant_id", "application_id", *EXTRA_FIELDS):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = _redact_value(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the ``kadosei`` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("kadosei")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
