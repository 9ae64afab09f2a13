"""Payment sessions: create (with ``Idempotency-Key``), read, list and cancel (docs/api.md §4)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError

from kadosei.errors import KadoseiError, ProviderUnavailable, Unprocessable, invalid, not_found
from kadosei.extensions import db
from kadosei.models import SESSION_STATUSES, Application, PaymentSession
from kadosei.models.base import utcnow
from kadosei.providers.base import PaymentUnderWay, ProviderError
from kadosei.schemas.requests import PaymentSessionCapture, PaymentSessionCreate
from kadosei.services import captures, idempotency, session_expiry
from kadosei.services.audit import Actor
from kadosei.services.captures import IdempotencyScope
from kadosei.services.idempotency import StoredResponse
from kadosei.services.pagination import Page, paginate
from kadosei.services.provider_choice import eligible_providers
from kadosei.services.session_state import lock_session, session_payload, transition


def create_payment_session(
    application: Application,
    mode: str,
    fields: PaymentSessionCreate,
    *,
    idempotency_key: str | None = None,
) -> StoredResponse:
    """Create a session and return the API response (the first one again for a replayed key).

    ``fields`` were validated for ``mode`` (``parse(..., context={"mode": mode})``)."""
    if idempotency_key is None:
        return _create(application, mode, fields)
    key = idempotency.check_key(idempotency_key)
    app_id = application.id
    fingerprint = idempotency.request_fingerprint(fields.model_dump(exclude_unset=True))
    # The session and its key commit together, in one transaction: a concurrent duplicate's
    # commit meets the unique key (on PostgreSQL after waiting for the first to finish), is
    # rolled back whole, and answers what the first request answered.
    for _ in range(3):
        try:
            return _create(application, mode, fields, idempotent=(key, fingerprint))
        except IntegrityError:
            db.session.rollback()
        except OperationalError as exc:
            if not idempotency.waited_too_long(exc):
                raise
            db.session.rollback()
            raise idempotency.key_in_use() from None
        replay = idempotency.earlier_response(app_id, mode, key, fingerprint)
        if replay is not None:
            return replay
    raise idempotency.key_in_use()


def _create(
    application: Application,
    mode: str,
    fields: PaymentSessionCreate,
    *,
    idempotent: tuple[str, str] | None = None,
) -> StoredResponse:
    """Create the session (commits); with ``idempotent`` (key, fingerprint), the key and the
    response are recorded in the same transaction."""
    takers = [
        provider
        for provider in eligible_providers(mode, fields.payment_method, fields.currency)
        if provider.amount_ineligible_reason(fields.amount, fields.currency) is None
    ]
    if not takers:
        raise Unprocessable(
            f"No provider available for {fields.payment_method} in {fields.currency} "
            f"in {mode} mode",
            code="no_provider_available",
        )
    session = _new_session(application, mode, fields)
    db.session.add(session)
    db.session.flush()
    response = StoredResponse(201, session_payload(session))
    if idempotent is not None:
        key, fingerprint = idempotent
        idempotency.record_response(application.id, mode, key, fingerprint, response)
    db.session.commit()
    return response


def _new_session(
    application: Application, mode: str, fields: PaymentSessionCreate
) -> PaymentSession:
    now = utcnow()
    return PaymentSession(
        merchant_id=application.merchant_id,
        application_id=application.id,
        mode=mode,
        status="open",
        amount=fields.amount,
        currency=fields.currency,
        payment_method=fields.payment_method,
        success_url=fields.success_url,
        cancel_url=fields.cancel_url,
        reference=fields.reference,
        description=fields.description,
        customer_email=fields.customer_email,
        metadata_=dict(fields.metadata),
        conflict=False,
        capture_method=fields.capture_method,
        amount_captured=0,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=fields.expires_in),
        max_attempts=fields.max_attempts,
        attempts_failed=0,
    )


def get_payment_session(application: Application, mode: str, session_id: str) -> PaymentSession:
    """The application's session in this mode; anyone else's is ``404 resource_missing``."""
    found = {"application_id": application.id, "mode": mode, "session_id": session_id}
    session = db.session.scalar(_APPLICATION_SESSION, found)
    if session is None:
        raise not_found("payment_session", session_id)
    return session


def list_payment_sessions(
    application: Application,
    mode: str,
    *,
    status: str | None,
    reference: str | None,
    limit: int,
    starting_after: str | None,
) -> Page:
    """Newest first; filters by ``status`` (validated) and exact ``reference``."""
    query = _sessions_of(application.id, mode)
    query = _filtered(query, status=status, reference=reference)
    return paginate(query, PaymentSession, limit=limit, starting_after=starting_after)


def capture_payment_session(
    application: Application,
    mode: str,
    session_id: str,
    fields: PaymentSessionCapture,
    *,
    actor: Actor,
    idempotency_key: str | None = None,
) -> StoredResponse:
    """``requires_capture → succeeded``, capturing ``fields.amount`` (default: all) at the
    provider (docs/api.md §4.2); the API response, the first one again for a replayed key."""
    session = get_payment_session(application, mode, session_id)
    request = {"capture": session.id, **fields.model_dump(exclude_unset=True)}

    def capture(key: str | None) -> StoredResponse:
        scope = IdempotencyScope(application.id, mode, key) if key else None
        return captures.capture_session(
            session.id, fields.amount, by="API", actor=actor, scope=scope
        )

    return idempotency.run_once(application.id, mode, idempotency_key, request, capture)


def cancel_payment_session(
    application: Application,
    mode: str,
    session_id: str,
    *,
    actor: Actor,
    idempotency_key: str | None = None,
) -> StoredResponse:
    """``open → canceled`` (ending any provider-side checkout first) or ``requires_capture →
    canceled`` (voiding the authorisation); else 422. The API response, the first one again
    for a replayed key."""
    session = get_payment_session(application, mode, session_id)

    def cancel(key: str | None) -> StoredResponse:
        if session.status == "requires_capture":
            scope = IdempotencyScope(application.id, mode, key) if key else None
            cause = "authorisation voided by the merchant (API)"
            return captures.void_session(session.id, cause=cause, actor=actor, scope=scope)
        canceled = _cancel_open(session)
        response = StoredResponse(200, session_payload(canceled))
        if key is not None:
            idempotency.complete(application.id, mode, key, response)
            db.session.commit()
        return response

    return idempotency.run_once(
        application.id, mode, idempotency_key, {"cancel": session.id}, cancel
    )


def _cancel_open(session: PaymentSession) -> PaymentSession:
    if session.status != "open":
        raise _not_cancelable(session)
    try:
        session_expiry.end_live_attempt(session.id, cause="canceled by the merchant")
    except PaymentUnderWay:
        db.session.rollback()
        raise Unprocessable(
            "The customer is already paying this session at the provider; it cannot be canceled",
            code="session_not_cancelable",
        ) from None
    except ProviderError as exc:
        db.session.rollback()
        raise ProviderUnavailable(
            "The provider could not confirm that its checkout ended; nothing changed, retry"
        ) from exc
    session = lock_session(session.id)
    if session.status != "open":
        db.session.commit()
        raise _not_cancelable(session)
    transition(session, "canceled", cause="canceled by the merchant (API)")
    db.session.commit()
    return session


def get_merchant_session(merchant_id: str, session_id: str) -> PaymentSession:
    session = db.session.scalar(
        select(PaymentSession).where(
            PaymentSession.merchant_id == merchant_id, PaymentSession.id == session_id
        )
    )
    if session is None:
        raise not_found("payment_session", session_id)
    return session


def _sessions_of(application_id: str, mode: str) -> Select:
    return select(PaymentSession).where(
        PaymentSession.application_id == application_id, PaymentSession.mode == mode
    )


def _filtered(query: Select, *, status: str | None, reference: str | None) -> Select:
    if status:
        if status not in SESSION_STATUSES:
            raise invalid("status", f"status must be one of: {', '.join(SESSION_STATUSES)}")
        query = query.where(PaymentSession.status == status)
    if reference:
        query = query.where(PaymentSession.reference == reference)
    return query


def _not_cancelable(session: PaymentSession) -> KadoseiError:
    return Unprocessable(
        f"Only an open or requires_capture session can be canceled; this one is {session.status}",
        code="session_not_cancelable",
    )


# Built once: every session read (and each change through the API) finds its session this way.
_APPLICATION_SESSION = _sessions_of(bindparam("application_id"), bindparam("mode")).where(
    PaymentSession.id == bindparam("session_id")
)
