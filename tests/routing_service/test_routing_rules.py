"""The operator's rules around the learned router: disable, pin, fixed split, from the CLI
and from KADOSEI_ROUTING."""

from __future__ import annotations

import json

import pytest
from routing_service_support import PROVIDERS, Customer, MerchantApi, attempts_of

from kadosei.config import ConfigError
from kadosei.models import PaymentSession, RoutingRule
from kadosei.services import routing_rules
from kadosei.services.provider_choice import rank_providers
from tests.conftest import make_test_app


def ranked(session: dict) -> list[tuple[str, dict]]:
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    return [(provider.name, why) for provider, why in rank_providers(row)]


def test_a_disabled_provider_is_never_chosen_and_the_explanation_says_why(merchant, customer):
    routing_rules.add_rule("disable_provider", {"provider": "sandbox_harbor"}, note="incident")

    for _ in range(12):
        session = merchant.create_session()
        customer.go_to_hosted_page(session)
        names = [name for name, _ in ranked(session)]
        assert "sandbox_harbor" not in names and len(names) == 2
        assert attempts_of(session)[0].provider != "sandbox_harbor"
    why = attempts_of(session)[0].explanation
    assert why["excluded"][0]["provider"] == "sandbox_harbor"
    assert why["excluded"][0]["rule"] == "disable_provider"
    assert why["rules"][0]["kind"] == "disable_provider"


def test_a_pinned_merchant_only_gets_its_providers_and_others_are_untouched(
    app, client, factories, merchant, account
):
    routing_rules.add_rule(
        "pin_providers", {"providers": ["sandbox_orbit"]}, merchant_id=account[0].id
    )
    other_app = factories.make_application()
    other = MerchantApi(client, factories.make_api_key(other_app, "test")[1])

    mine = [ranked(merchant.create_session()) for _ in range(5)]
    theirs = ranked(other.create_session())

    assert all([name for name, _ in r] == ["sandbox_orbit"] for r in mine)
    assert mine[0][0][1]["rules"][0]["kind"] == "pin_providers"
    assert sorted(name for name, _ in theirs) == sorted(PROVIDERS)


def test_a_fixed_split_lands_near_its_weights_and_each_session_always_alike(merchant, account):
    routing_rules.add_rule(
        "fixed_split",
        {"weights": {"sandbox_lumen": 50, "sandbox_orbit": 50}},
        merchant_id=account[0].id,
    )
    sessions = [merchant.create_session() for _ in range(300)]

    firsts = [ranked(s)[0] for s in sessions]

    share = sum(name == "sandbox_lumen" for name, _ in firsts) / len(firsts)
    assert 0.4 <= share <= 0.6
    assert {name for name, _ in firsts} == {"sandbox_lumen", "sandbox_orbit"}
    assert all(why["reason"] == "rule" for _, why in firsts)
    assert [ranked(s)[0][0] for s in sessions[:20]] == [name for name, _ in firsts[:20]]
    assert len(ranked(sessions[0])) == 3  # the others stay behind the pick for failover


def test_rules_from_kadosei_routing_apply_and_a_bad_one_stops_the_start(
    database_url, _schema, redis_url, tmp_path
):
    path = tmp_path / "routing.json"
    path.write_text(
        json.dumps({"rules": [{"kind": "disable_provider", "provider": "sandbox_lumen"}]})
    )
    app = make_test_app(database_url, redis_url, KADOSEI_ROUTING=str(path))
    assert [r.data for r in routing_rules.load_configured_rules(app)] == [
        {"provider": "sandbox_lumen"}
    ]
    with pytest.raises(ConfigError, match="Unknown provider"):
        make_test_app(
            database_url,
            redis_url,
            KADOSEI_ROUTING='[{"kind": "disable_provider", "provider": "x"}]',
        )
    with pytest.raises(ConfigError, match="not valid JSON"):
        make_test_app(database_url, redis_url, KADOSEI_ROUTING="{oops")
    with pytest.raises(ConfigError, match="weight"):
        make_test_app(
            database_url,
            redis_url,
            KADOSEI_ROUTING=[{"kind": "fixed_split", "weights": {"sandbox_lumen": -1}}],
        )


def test_configured_disable_keeps_the_provider_out_of_checkouts(
    database_url, _schema, redis_url, redis_client
):
    from kadosei.extensions import db
    from tests.conftest import HttpsClient, _truncate_all
    from tests.factories import Factories

    rules = [{"kind": "disable_provider", "provider": "sandbox_harbor"}]
    app = make_test_app(database_url, redis_url, KADOSEI_ROUTING=json.dumps(rules))
    with app.app_context():
        try:
            factories = Factories(app)
            _, secret = factories.make_api_key(factories.make_application(), "test")
            app.test_client_class = HttpsClient
            merchant = MerchantApi(app.test_client(), secret)
            customer = Customer(app.test_client())
            for _ in range(6):
                session = merchant.create_session()
                customer.go_to_hosted_page(session)
                assert attempts_of(session)[0].provider != "sandbox_harbor"
            assert attempts_of(session)[0].explanation["rules"][0]["source"] == "config"
        finally:
            db.session.remove()
            _truncate_all()
            db.engine.dispose()


def test_the_routing_cli_adds_lists_and_removes_rules(app, account):
    runner = app.test_cli_runner()
    merchant_id = account[0].id

    disabled = runner.invoke(args=["routing", "disable", "sandbox_orbit", "--note", "outage"])
    pinned = runner.invoke(args=["routing", "pin", merchant_id, "sandbox_lumen", "sandbox_harbor"])
    split = runner.invoke(
        args=[
            "routing",
            "split",
            "sandbox_lumen=70",
            "sandbox_harbor=30",
            "--merchant",
            merchant_id,
        ]
    )
    listed = runner.invoke(args=["routing", "rules"])

    assert disabled.exit_code == 0 and pinned.exit_code == 0 and split.exit_code == 0
    assert "disable_provider" in listed.output and "pin_providers" in listed.output
    assert "sandbox_lumen:70" in listed.output and "outage" in listed.output
    rule_id = RoutingRule.query.filter_by(kind="disable_provider").one().id
    assert runner.invoke(args=["routing", "remove", rule_id]).exit_code == 0
    assert RoutingRule.query.count() == 2


def test_the_routing_cli_refuses_bad_rules_without_storing_anything(app, account):
    runner = app.test_cli_runner()

    unknown = runner.invoke(args=["routing", "disable", "sandbox_nope"])
    no_merchant = runner.invoke(args=["routing", "pin", "mer_missing", "sandbox_lumen"])
    bad_weight = runner.invoke(args=["routing", "split", "sandbox_lumen=abc"])
    zero = runner.invoke(args=["routing", "split", "sandbox_lumen=0"])
    missing = runner.invoke(args=["routing", "remove", "rr_missing"])

    assert "Unknown provider" in unknown.output and unknown.exit_code != 0
    assert "No such merchant" in no_merchant.output
    assert bad_weight.exit_code != 0 and zero.exit_code != 0 and missing.exit_code != 0
    assert RoutingRule.query.count() == 0


def test_the_routing_cli_shows_the_routers_view(app):
    result = app.test_cli_runner().invoke(args=["routing", "status"])

    assert result.exit_code == 0
    assert (
        all(f"{name}" in result.output for name in PROVIDERS) and "breaker=closed" in result.output
    )
