"""Applications of a merchant: create, rename, archive, look up, list."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.errors import not_found
from kadosei.extensions import db
from kadosei.models import ApiKey, Application
from kadosei.schemas.requests import ApplicationCreate, ApplicationUpdate
from kadosei.services.audit import record_audit


def create_application(
    merchant_id: str, fields: ApplicationCreate, *, user_id: str | None = None
) -> Application:
    application = Application(
        merchant_id=merchant_id, name=fields.name, description=fields.description
    )
    db.session.add(application)
    db.session.flush()
    record_audit(
        "application.created", merchant_id=merchant_id, user_id=user_id, target=application.id
    )
    db.session.commit()
    return application


def update_application(application: Application, changes: ApplicationUpdate) -> Application:
    """Set the fields present in ``changes`` (``description: null`` clears it)."""
    for field in changes.model_fields_set:
        setattr(application, field, getattr(changes, field))
    db.session.commit()
    return application


def archive_application(application: Application, *, user_id: str | None = None):
    if not application.archived:
        application.archive()
        record_audit(
            "application.archived",
            merchant_id=application.merchant_id,
            user_id=user_id,
            target=application.id,
        )
        db.session.commit()
    return application


def get_application(merchant_id: str, app_id: str) -> Application:
    """The merchant's application, or 404 (also for another merchant's)."""
    application = db.session.scalar(
        select(Application).where(Application.id == app_id, Application.merchant_id == merchant_id)
    )
    if application is None:
        raise not_found("application", app_id)
    return application


def list_applications(merchant_id: str, *, include_archived: bool = True) -> list[Application]:
    query = select(Application).where(Application.merchant_id == merchant_id)
    if not include_archived:
        query = query.where(Application.archived_at.is_(None))
    return list(db.session.scalars(query.order_by(Application.pk.desc())))


def get_api_key(application: Application, key_id: str) -> ApiKey:
    key = db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.application_id == application.id)
    )
    if key is None:
        raise not_found("api_key", key_id)
    return key
