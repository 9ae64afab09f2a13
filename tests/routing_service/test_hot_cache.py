"""Routing rules and shop names read on every checkout redirect are reused for
``KADOSEI_HOT_CACHE_SECONDS`` (kadosei/hot_cache.py): a change through this instance counts at
once, a change by another instance or the CLI (written straight to the database here, as that
process would) within the cache time, and 0 reads every time."""

from __future__ import annotations

import time

import pytest
from routing_service_support import attempts_of
from sqlalchemy import create_engine, insert, update

from kadosei.config import normalize_database_url
from kadosei.models import Merchant, RoutingRule
from kadosei.models.base import new_id, utcnow
from kadosei.schemas.requests import MerchantUpdate
from kadosei.services import routing_rules
from kadosei.services.merchants import update_merchant
from kadosei.services.shop import shop_name

CACHE_SECONDS = 1.5


@pytest.fixture
def cache_seconds() -> float:
    return CACHE_SECONDS


@pytest.fixture
def app_config(app_config, cache_seconds) -> dict:
    return {**app_config, "KADOSEI_HOT_CACHE_SECONDS": cache_seconds}


def _as_another_instance(database_url: str, statement) -> None:
    engine = create_engine(normalize_database_url(database_url))
    with engine.begin() as conn:
        conn.execute(statement)
    engine.dispose()


def _disable_elsewhere(database_url: str, provider: str) -> None:
    rule = {"id": new_id("rr"), "kind": "disable_provider", "data": {"provider": provider}}
    _as_another_instance(
        database_url, insert(RoutingRule.__table__).values(**rule, created_at=utcnow())
    )


def _provider_of_new_checkout(merchant, customer) -> str:
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    return attempts_of(session)[0].provider


def test_a_rule_added_here_counts_at_the_next_checkout(merchant, customer):
    first = _provider_of_new_checkout(merchant, customer)  # the rules are cached now
    routing_rules.add_rule("disable_provider", {"provider": first})

    assert all(_provider_of_new_checkout(merchant, customer) != first for _ in range(6))


def test_a_rule_added_elsewhere_counts_within_the_cache_time(
    database_url, merchant, customer, account
):
    first = _provider_of_new_checkout(merchant, customer)
    assert routing_rules.rules_for(account[0].id) == []
    _disable_elsewhere(database_url, first)
    read_at = time.monotonic()

    still_cached = routing_rules.rules_for(account[0].id)
    if time.monotonic() - read_at < CACHE_SECONDS:  # unless the machine stalled that long
        assert still_cached == []
    time.sleep(CACHE_SECONDS + 0.1)

    assert [rule.kind for rule in routing_rules.rules_for(account[0].id)] == ["disable_provider"]
    assert all(_provider_of_new_checkout(merchant, customer) != first for _ in range(6))


def test_a_shop_renamed_here_is_shown_at_once_and_elsewhere_within_the_cache_time(
    database_url, account
):
    shop = account[0]
    assert shop_name(shop.id) == shop.name
    update_merchant(shop, MerchantUpdate(name="Ada's Tea Room"))
    assert shop_name(shop.id) == "Ada's Tea Room"

    merchants = Merchant.__table__
    _as_another_instance(
        database_url, update(merchants).where(merchants.c.id == shop.id).values(name="Tea Room")
    )
    time.sleep(CACHE_SECONDS + 0.1)

    assert shop_name(shop.id) == "Tea Room"


@pytest.mark.parametrize("cache_seconds", [0])
def test_with_no_cache_time_every_checkout_reads_the_rules(database_url, merchant, customer):
    first = _provider_of_new_checkout(merchant, customer)
    _disable_elsewhere(database_url, first)

    assert _provider_of_new_checkout(merchant, customer) != first
    assert RoutingRule.query.count() == 1
