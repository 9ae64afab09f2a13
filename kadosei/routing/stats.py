"""The router's learned state: row layouts, tuning parameters and the update rules.

Every store (memory, Redis) keeps the same rows and applies the same rules; the Redis store
mirrors :func:`update_row` and :func:`update_breaker` in Lua, and a test checks they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A statistics row, one per (segment level, segment, provider) and one per segment for "*"
# (all providers together).  Slow counts decay per record in the segment (a segment clock),
# fast counts per record of the row itself; availability counts decay with wall time.
S, N, E, FS, FN, FE, CLOCK, AV_OK, AV_ERR, AV_AT = range(10)
ROW_LEN = 10

# A breaker row, one per (mode, provider).  CLOSED_AT is when a probe last closed it: the
# provider's availability errors from before then are forgotten in every segment.
STATE, CONSEC, ERR_SCORE, OPENED_AT, COOLDOWN, PROBE_AT, CLOSED_AT = range(7)
BREAKER_LEN = 7
CLOSED, OPEN, HALF_OPEN = 0, 1, 2
BREAKER_NAMES = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half_open"}

ALL = "*"
SUCCEEDED, FAILED, ERROR = 1, 0, -1
OUTCOMES = {"succeeded": SUCCEEDED, "failed": FAILED, "error": ERROR}


@dataclass(frozen=True)
class Params:
    """Tuning of the estimator, the exploration and the circuit breaker."""

    slow_gamma: float = 0.9995  # per record in the segment: ~2000 records of memory
    fast_gamma: float = 0.95  # per record of the row: ~20 records, the change detector's window
    change_threshold: float = (
        5.0  # log-likelihood ratio, fast vs slow, that restarts the slow counts
    )
    change_min: float = 8.0  # fast evidence needed before a restart
    segment_prior: float = 20.0  # pseudo-records pulling a segment's base rate to its parent
    lift_prior: float = 100.0  # pseudo-records pulling a provider's lift to its parent level
    # … at method × currency and finer: segments of one method differ far less than a few
    # hundred records can tell, so a segment must earn its own estimate with ~1000 of them.
    fine_lift_prior: float = 1000.0
    # A dearer challenger must beat the fee-best provider by this many standard deviations of
    # the difference of their estimates; until then it gets split_share of the payments the
    # point estimates would give it.
    hold_margin: float = 0.5
    split_share: float = 0.3
    walk: float = 5e-7  # variance a success rate may drift per unobserved segment record
    temper: float = 0.2  # scale of the posterior spread used for exploration draws
    availability_half_life: float = 10.0  # seconds
    availability_prior: float = 2.0  # pseudo-answers assumed before any evidence
    breaker_consecutive: int = 2
    breaker_decay: float = 0.85
    breaker_threshold: float = 3.2
    breaker_cooldown: float = 10.0  # seconds open before the first probe
    breaker_cooldown_max: float = 30.0
    probe_timeout: float = 10.0  # seconds before an unanswered probe may be repeated
    ttl_seconds: int = 14 * 24 * 3600  # idle segments expire from a shared store


def new_row() -> list[float]:
    """An empty statistics row."""
    return [0.0] * ROW_LEN


def new_breaker() -> list[float]:
    """A closed breaker."""
    return [0.0] * BREAKER_LEN


def slow_decay(row: list[float], clock: float, gamma: float) -> float:
    """Decay factor of a row's slow counts at the segment's current clock."""
    lag = clock - row[CLOCK]
    return gamma**lag if lag > 0 else 1.0


def update_row(
    row: list[float],
    clock: float,
    x: int,
    expected: float,
    now: float,
    p: Params,
    detect: bool,
    closed_at: float = 0.0,
) -> None:
    """Fold one outcome into a row; ``clock`` is the segment clock after this record.

    ``closed_at`` is when the provider's breaker last closed: availability counts older than
    that belong to the outage it recovered from and are dropped.
    """
    if x != ERROR:
        d = slow_decay(row, clock, p.slow_gamma) if row[N] > 0 else 0.0
        row[S] = row[S] * d + x
        row[N] = row[N] * d + 1.0
        row[E] = row[E] * d + expected
        g = p.fast_gamma
        row[FS] = row[FS] * g + x
        row[FN] = row[FN] * g + 1.0
        row[FE] = row[FE] * g + expected
        row[CLOCK] = clock
        if detect:
            _detect_change(row, p)
    if closed_at > 0.0 and row[AV_AT] <= closed_at:
        row[AV_OK] = row[AV_ERR] = 0.0
    _update_availability(row, x, now, p.availability_half_life)


def _detect_change(row: list[float], p: Params) -> None:
    """Restart the slow counts from the fast ones when the two clearly disagree (Bernoulli GLR)."""
    if row[FN] < p.change_min or row[N] <= row[FN] + 1e-9 or row[E] <= 0:
        return
    predicted = min(max(row[FE] / row[FN] * row[S] / row[E], 1e-4), 1.0 - 1e-4)
    fast = min(max(row[FS] / row[FN], 1e-4), 1.0 - 1e-4)
    kl = fast * math.log(fast / predicted) + (1.0 - fast) * math.log(
        (1.0 - fast) / (1.0 - predicted)
    )
    if row[FN] * kl > p.change_threshold:
        row[S], row[N], row[E] = row[FS], row[FN], row[FE]


def _update_availability(row: list[float], x: int, now: float, half_life: float) -> None:
    """Time-decayed counts of answered calls and API errors."""
    lag = now - row[AV_AT]
    d = 0.5 ** (lag / half_life) if lag > 0 else 1.0
    row[AV_OK] = row[AV_OK] * d + (0.0 if x == ERROR else 1.0)
    row[AV_ERR] = row[AV_ERR] * d + (1.0 if x == ERROR else 0.0)
    row[AV_AT] = max(now, row[AV_AT])


def update_breaker(b: list[float], x: int, now: float, p: Params) -> None:
    """Fold one outcome into a provider's circuit breaker."""
    if x == ERROR:
        b[CONSEC] += 1
        b[ERR_SCORE] = b[ERR_SCORE] * p.breaker_decay + 1.0
        if b[STATE] == HALF_OPEN:
            b[STATE], b[OPENED_AT], b[PROBE_AT] = OPEN, now, 0.0
            b[COOLDOWN] = min(b[COOLDOWN] * 2.0, p.breaker_cooldown_max)
        elif b[STATE] == CLOSED and (
            b[CONSEC] >= p.breaker_consecutive or b[ERR_SCORE] >= p.breaker_threshold
        ):
            # A provider that trips again soon after closing waits longer before the next probe.
            flapping = now - b[OPENED_AT] < 4.0 * p.breaker_cooldown_max and b[COOLDOWN] > 0
            b[COOLDOWN] = (
                min(b[COOLDOWN] * 2.0, p.breaker_cooldown_max) if flapping else (p.breaker_cooldown)
            )
            b[STATE], b[OPENED_AT], b[PROBE_AT] = OPEN, now, 0.0
        return
    b[CONSEC] = 0.0
    b[ERR_SCORE] *= p.breaker_decay
    if b[STATE] == HALF_OPEN:
        if x == SUCCEEDED:
            b[STATE], b[ERR_SCORE], b[PROBE_AT], b[CLOSED_AT] = CLOSED, 0.0, 0.0, now
        else:
            b[PROBE_AT] = 0.0  # a decline answers the probe: another may go out


def probe_due(b: list[float], now: float, p: Params) -> bool:
    """Whether an open or half-open breaker may send a probe now."""
    if b[STATE] == OPEN:
        return now >= b[OPENED_AT] + b[COOLDOWN]
    if b[STATE] == HALF_OPEN:
        return now >= b[PROBE_AT] + p.probe_timeout or b[PROBE_AT] == 0.0
    return False


def claim_probe(b: list[float], now: float, p: Params) -> bool:
    """Turn a due breaker half-open and reserve the probe; False if none is due."""
    if not probe_due(b, now, p):
        return False
    b[STATE], b[PROBE_AT] = HALF_OPEN, now
    return True


def breaker_pause(b: list[float] | None, p: Params) -> dict[str, float | int] | None:
    """Why a provider is paused and when it is tried again, for people; None when closed.

    ``errors_in_a_row``: its consecutive API errors; ``retry_at``: when an open breaker lets
    a probe through (on the router's clock), or when a half-open breaker's probe went out.
    """
    if b is None or int(b[STATE]) == CLOSED:
        return None
    if int(b[STATE]) == OPEN:
        retry_at = b[OPENED_AT] + b[COOLDOWN]
    else:
        retry_at = b[PROBE_AT] or b[OPENED_AT] + b[COOLDOWN]
    return {"errors_in_a_row": int(b[CONSEC]), "retry_at": round(retry_at, 3)}
