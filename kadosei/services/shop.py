"""The shop as its customers see it: the name kadosei's checkout pages show them."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import Merchant


def shop_name(merchant_id: str) -> str:
    """The name a merchant's customers know it by (for now the merchant's own name)."""
    name = db.session.scalar(select(Merchant.name).where(Merchant.id == merchant_id))
    return name or ""
