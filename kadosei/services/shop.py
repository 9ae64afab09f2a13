"""The shop as its customers see it: the name kadosei's checkout pages show them."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.hot_cache import hot_cache
from kadosei.models import Merchant


def shop_name(merchant_id: str) -> str:
    """The name a merchant's customers know it by (for now the merchant's own name); read once
    per ``KADOSEI_HOT_CACHE_SECONDS`` (a checkout redirect passes it to the provider)."""
    return hot_cache("shop_names").get(merchant_id, lambda: _read_name(merchant_id))


def forget_shop_names() -> None:
    """After a rename: this instance shows the new name at once."""
    hot_cache("shop_names").forget()


def _read_name(merchant_id: str) -> str:
    name = db.session.scalar(select(Merchant.name).where(Merchant.id == merchant_id))
    return name or ""
