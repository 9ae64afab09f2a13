"""The committed Grafana dashboard (deploy/grafana/kadosei-dashboard.json) reads only metrics
kadosei really exports — taken from a real ``/metrics`` after some traffic — and shows every
one of them."""

from __future__ import annotations

import json
import re

import pytest

from kadosei.config import BASE_DIR
from tests.conftest import HttpsClient
from tests.payments.payments_support import Customer, MerchantApi

DASHBOARD = BASE_DIR / "deploy" / "grafana" / "kadosei-dashboard.json"
HISTOGRAM_SAMPLES = ("_bucket", "_sum", "_count")
NOT_METRICS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\(|[A-Za-z0-9_:])")


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers,
    ranges, groupings, function calls and keywords are taken out."""
    expr = _STRING.sub('""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = _GROUPING.sub("", expr)
    return {name for name in _NAME.findall(expr) if name.lower() not in NOT_METRICS}


def exported_names(metrics: str) -> tuple[set[str], set[str]]:
    """(the sample names a query may use, the families) of a Prometheus text exposition."""
    names: set[str] = set()
    families: set[str] = set()
    for line in metrics.splitlines():
        match = re.match(r"# TYPE (\S+) (\S+)$", line)
        if not match or match.group(1).endswith("_created"):
            continue
        family, kind = match.groups()
        families.add(family)
        if kind == "histogram":
            names.update(family + suffix for suffix in HISTOGRAM_SAMPLES)
        else:
            names.add(family)
    return names, families


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url, "SANDBOX_PROCESSING_SECONDS": 0}


@pytest.fixture
def scraped(app, client, factories) -> str:
    """``/metrics`` of an app that created sessions and sent a customer to a provider."""
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    merchant = MerchantApi(client, secret)
    app.test_client_class = HttpsClient
    customer = Customer(app.test_client())
    customer.go_to_hosted_page(merchant.create_session())
    client.get("/api/v1/payment_sessions/ps_nope", headers={"Authorization": "Bearer nope"})
    return client.get("/metrics").get_data(as_text=True)


def test_metric_names_are_read_out_of_promql():
    expr = (
        'sum by (endpoint) (rate(a_count{status=~"5..", x="y(z)"}[$__rate_interval])) / '
        "histogram_quantile(0.99, sum by (le) (rate(b_bucket[5m]))) and on (instance) (c > 0)"
    )

    assert metric_names(expr) == {"a_count", "b_bucket", "c"}


def test_every_panel_reads_only_metrics_kadosei_exports(scraped):
    names, _ = exported_names(scraped)

    unknown = {
        (title, name)
        for title, expr in dashboard_queries()
        for name in metric_names(expr)
        if name not in names
    }

    assert names, "the scrape exported nothing"
    assert unknown == set()


def test_the_dashboard_shows_every_metric_kadosei_exports(scraped):
    _, families = exported_names(scraped)
    read = {name for _, expr in dashboard_queries() for name in metric_names(expr)}

    unshown = {
        family
        for family in families
        if family.startswith("kadosei_")
        and not ({family, *(family + suffix for suffix in HISTOGRAM_SAMPLES)} & read)
    }

    assert unshown == set()


def test_every_panel_has_a_query_on_the_chosen_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]

    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(panel["targets"] for panel in panels)
    assert {panel["datasource"]["uid"] for panel in panels} == {"${datasource}"}
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
