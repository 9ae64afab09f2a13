"""The merchant's own settings: the shop's name customers see, the support e-mail."""

from __future__ import annotations

from kadosei.extensions import db
from kadosei.models import Merchant
from kadosei.schemas.requests import MerchantUpdate
from kadosei.services.audit import record_audit
from kadosei.services.shop import forget_shop_names


def update_merchant(
    merchant: Merchant,
    changes: MerchantUpdate,
    *,
    user_id: str | None = None,
    ip: str | None = None,
) -> Merchant:
    """Set the fields present in ``changes`` (``support_email: null`` clears it), audited with
    what changed from what."""
    changed = {}
    for field in sorted(changes.model_fields_set):
        before, after = getattr(merchant, field), getattr(changes, field)
        if before != after:
            changed[field] = {"from": before, "to": after}
            setattr(merchant, field, after)
    if changed:
        record_audit(
            "merchant.updated",
            merchant_id=merchant.id,
            user_id=user_id,
            target=merchant.id,
            ip=ip,
            changes=changed,
        )
    db.session.commit()
    if "name" in changed:
        forget_shop_names()
    return merchant
