"""The per-API-key request limit (``KADOSEI_API_RATE_LIMIT``, off by default).

The contract promises at least 100 requests per second per key wherever a limit is
configured, so a smaller limit is refused at start-up. The count lives in the limiter's
storage (Redis in production), so every process shares it.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.strategies import MovingWindowRateLimiter

from kadosei.config import ConfigError
from kadosei.errors import RateLimited
from kadosei.extensions import limiter

log = logging.getLogger("kadosei.api")

MIN_PER_SECOND = 100
_NAMESPACE = "api-key"


def api_key_limit(app: Flask) -> RateLimitItem | None:
    """The configured limit, checked once: at least 100 requests per second."""
    raw = app.config["API_RATE_LIMIT"]
    if not raw:
        return None
    try:
        item = parse(raw)
    except ValueError:
        raise ConfigError(f"KADOSEI_API_RATE_LIMIT is not a rate limit: {raw!r}") from None
    if item.amount / item.get_expiry() < MIN_PER_SECOND:
        raise ConfigError(
            f"KADOSEI_API_RATE_LIMIT must allow at least {MIN_PER_SECOND} requests per second"
        )
    return item


def check_api_key_limit(api_key_id: str) -> None:
    """Count one request for this key; ``429 rate_limited`` with ``Retry-After`` past the limit."""
    item = current_app.extensions.get("kadosei_api_key_limit")
    if item is None:
        return
    window = MovingWindowRateLimiter(limiter.storage)
    try:
        if window.hit(item, _NAMESPACE, api_key_id):
            return
    except Exception as exc:  # the limit's store (Redis) is down: payments go on unlimited
        log.warning("API key rate limit not checked: its storage failed (%s)", exc)
        return
    reset_at = window.get_window_stats(item, _NAMESPACE, api_key_id).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(
        "Too many requests for this API key; slow down and retry",
        headers={"Retry-After": str(retry_after)},
    )


def init_api_key_limit(app: Flask) -> None:
    app.extensions["kadosei_api_key_limit"] = api_key_limit(app)
