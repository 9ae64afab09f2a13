"""``Idempotency-Key`` for session creation, capture and cancel: one unique row per
(application, mode, key).

The row is inserted ``in_progress`` at the start of the request's own transaction, so the
database's unique constraint decides which of several concurrent requests runs; the others
meet the row and get the stored response, ``idempotency_key_in_use`` or
``idempotency_key_reused``. The work and the completed row commit together — one commit per
request — and only a success is kept: a refused request rolls its claim back with its work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from kadosei.errors import IdempotencyConflict, invalid
from kadosei.extensions import db
from kadosei.models import IdempotencyRecord
from kadosei.models.base import utcnow
from kadosei.schemas.limits import IDEMPOTENCY_KEY_MAX

KEEP_FOR = timedelta(hours=24)
# An in-progress row older than this was left by a crashed request: its work never committed
# (the result and the row's completion commit together), so a retry may take it over.
ABANDONED_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict


def request_fingerprint(data: dict) -> str:
    """The same JSON value (whatever the key order or spacing) gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise invalid(
            "Idempotency-Key",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters",
        )
    return key


def claim(application_id: str, mode: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request (``None``), or return the first request's response.

    The claim joins the caller's transaction (flushed, not committed): the request's work and
    its stored response commit together, in one transaction, and a request that fails leaves
    nothing behind by rolling back. A concurrent duplicate meets the uncommitted claim under
    the unique constraint: on PostgreSQL it waits for it at most the lock timeout (5 s) and
    gets the first request's answer, else ``idempotency_key_in_use``; on SQLite writers take
    turns, so it gets the first answer. Raises ``IdempotencyConflict`` when the key was used
    with a different body.
    """
    for _ in range(3):
        record = IdempotencyRecord(
            application_id=application_id, mode=mode, key=key, request_hash=fingerprint
        )
        try:
            db.session.add(record)
            db.session.flush()
            return None
        except IntegrityError:
            db.session.rollback()
        except OperationalError as exc:
            db.session.rollback()
            if not waited_too_long(exc):
                raise
            raise key_in_use() from None
        existing = _find(application_id, mode, key)
        if existing is None:
            continue  # the holder was refused and let go of the key: try again
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict(
                "This Idempotency-Key was already used with a different request body",
                code="idempotency_key_reused",
            )
        if existing.status == "completed":
            return StoredResponse(existing.response_code or 200, existing.response_body or {})
        if _take_over_abandoned(existing):
            return None
        raise key_in_use()
    raise key_in_use()


def key_in_use() -> IdempotencyConflict:
    return IdempotencyConflict(
        "A request with this Idempotency-Key is still being processed; retry shortly",
        code="idempotency_key_in_use",
    )


def run_once(
    application_id: str,
    mode: str,
    key: str | None,
    request: dict,
    work: Callable[[str | None], StoredResponse],
) -> StoredResponse:
    """Do ``work`` once per key: ``work(key)`` stores its successful response with
    ``complete`` in its own commit; a replay gets that response again, and a refused request
    lets the key go. ``request`` is what identifies the call (its operation, object and body).
    """
    if key is None:
        return work(None)
    key = check_key(key)
    replay = claim(application_id, mode, key, request_fingerprint(request))
    if replay is not None:
        return replay
    try:
        return work(key)
    except BaseException:
        release(application_id, mode, key)
        raise


def waited_too_long(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "55P03"  # lock_not_available


def record_response(
    application_id: str, mode: str, key: str, fingerprint: str, response: StoredResponse
) -> None:
    """For work done in one transaction (session creation): the key and its response, added
    to the caller's transaction at the end. If another request has the key, the commit fails
    with ``IntegrityError``; the caller rolls back and asks ``earlier_response``."""
    db.session.add(
        IdempotencyRecord(
            application_id=application_id,
            mode=mode,
            key=key,
            request_hash=fingerprint,
            status="completed",
            response_code=response.status,
            response_body=response.body,
        )
    )


def earlier_response(
    application_id: str, mode: str, key: str, fingerprint: str
) -> StoredResponse | None:
    """What the request holding ``key`` answered (``None``: it let go of the key after all);
    ``IdempotencyConflict`` for another body or a request still running."""
    existing = _find(application_id, mode, key)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request body",
            code="idempotency_key_reused",
        )
    if existing.status == "completed":
        return StoredResponse(existing.response_code or 200, existing.response_body or {})
    raise key_in_use()


def complete(application_id: str, mode: str, key: str, response: StoredResponse) -> None:
    """Store the successful response on the claimed row, in the caller's transaction."""
    db.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.application_id == application_id,
            IdempotencyRecord.mode == mode,
            IdempotencyRecord.key == key,
        )
        .values(status="completed", response_code=response.status, response_body=response.body)
        .execution_options(synchronize_session=False)
    )


def release(application_id: str, mode: str, key: str) -> None:
    """Forget a claim whose request was refused, so the key can be used again (commits)."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.application_id == application_id,
            IdempotencyRecord.mode == mode,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status == "in_progress",
        )
    )
    db.session.commit()


def prune_idempotency_records() -> int:
    """Forget keys older than 24 hours (a periodic sweep)."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEEP_FOR)
    )
    db.session.commit()
    return result.rowcount or 0


def _find(application_id: str, mode: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.application_id == application_id,
        IdempotencyRecord.mode == mode,
        IdempotencyRecord.key == key,
    )
    return db.session.scalar(query.execution_options(populate_existing=True))


def _take_over_abandoned(record: IdempotencyRecord) -> bool:
    """A claim committed but never completed (left by an older version of kadosei, whose
    claims committed on their own): taken over once it is old enough, in the caller's
    transaction."""
    now = utcnow()
    taken = db.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.pk == record.pk,
            IdempotencyRecord.status == "in_progress",
            IdempotencyRecord.created_at < now - ABANDONED_AFTER,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)
