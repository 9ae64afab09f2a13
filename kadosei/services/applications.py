"""Applications of a merchant: create, rename, archive, look up, list."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.errors import not_found
from kadosei.extensions import db
from kadosei.models import ApiKey, Application
from kadosei.services import validation
from kadosei.services.audit import record_audit


def create_application(merchant_id: str, data: dict, *, user_id: str | None = None):
    validation.reject_unknown(data, {"name", "description"})
    name = validation.string(data, "name", max_length=100, required=True)
    description = validation.string(data, "description", max_length=500)
    application = Application(merchant_id=merchant_id, name=name, description=description)
    db.session.add(application)
    db.session.flush()
    record_audit(
        "application.created", merchant_id=merchant_id, user_id=user_id, target=application.id
    )
    db.session.commit()
    return application


def update_application(application: Application, data: dict) -> Application:
    validation.reject_unknown(data, {"name", "description"})
    # Check every field before changing any: a refused request changes nothing.
    changes = {}
    if "name" in data:
        changes["name"] = validation.string(data, "name", max_length=100, required=True)
    if "description" in data:
        changes["description"] = validation.string(data, "description", max_length=500)
    for field, value in changes.items():
        setattr(application, field, value)
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
