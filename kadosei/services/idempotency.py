"""``Idempotency-Key`` for session creation, capture and cancel: one unique row per
(application, mode, key).

The row is inserted ``in_progress`` in its own short transaction *before* the work, so the
database's unique constraint decides which of several concurrent requests runs; the others
see the row and get the stored response, ``idempotency_key_in_use`` or
``idempotency_key_reused``. Only a success is kept: a refused request deletes its row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

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

    Commits the claim at once. Raises ``IdempotencyConflict`` while another request holds the
    key, or when the key was used with a different body.
    """
    for _ in range(3):
        record = IdempotencyRecord(
            application_id=application_id, mode=mode, key=key, request_hash=fingerprint
        )
        db.session.add(record)
        try:
            db.session.commit()
            return None
        except IntegrityError:
            db.session.rollback()
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
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly",
            code="idempotency_key_in_use",
        )
    raise IdempotencyConflict(
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
    db.session.commit()
    return bool(taken.rowcount)
