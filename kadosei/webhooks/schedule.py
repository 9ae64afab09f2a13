"""When a failed delivery is tried again: exponential backoff with jitter for about three days
(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten tries over ~75 hours)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_TRIES = len(RETRY_DELAYS) + 1
JITTER = 0.1  # each delay is stretched or shrunk by up to 10 %, so retries do not stampede


def next_try_at(
    tries_made: int, now: datetime, *, rng: random.Random | None = None
) -> datetime | None:
    """When to try again after ``tries_made`` tries failed; ``None`` once the schedule is spent."""
    if tries_made < 1 or tries_made >= MAX_TRIES:
        return None
    delay = RETRY_DELAYS[tries_made - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return now + delay * factor
