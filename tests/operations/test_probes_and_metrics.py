"""§12: ``/healthz``, ``/readyz`` and ``/metrics`` — what an operator's probes and dashboards
read, and a clean ``503`` with ``Retry-After`` when the database is away."""

from __future__ import annotations

import re

import pytest

from tests.conftest import HttpsClient, make_test_app
from tests.payments.payments_support import Customer, MerchantApi

CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/none"
CLOSED_REDIS = "redis://127.0.0.1:1/0"


def _sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the Prometheus text ``metrics``, or None."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    return {"REDIS_URL": redis_url, "SANDBOX_PROCESSING_SECONDS": 0}


def test_healthz_answers_plain_http_from_any_address(app):
    client = app.test_client()

    response = client.get("/healthz", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_the_database_and_the_queue_answer(app):
    response = app.test_client().get("/readyz", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok", "queue": "ok"}}


def test_readyz_reports_a_dead_queue_as_degraded_not_dead(database_url, _schema):
    app = make_test_app(database_url, REDIS_URL=CLOSED_REDIS)

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"] == {"database": "ok", "queue": "unreachable"}


def test_readyz_is_503_with_retry_after_when_the_database_is_unreachable():
    app = make_test_app(CLOSED_POSTGRES, REDIS_URL=CLOSED_REDIS)

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["status"] == "unavailable"
    assert "postgres" not in response.get_data(as_text=True)  # no connection details


def test_an_api_call_without_a_database_is_a_clean_503_not_a_500():
    app = make_test_app(CLOSED_POSTGRES, REDIS_URL=CLOSED_REDIS)
    app.test_client_class = HttpsClient

    with app.app_context():
        response = app.test_client().post(
            "/api/v1/payment_sessions",
            json={"amount": 100},
            headers={"Authorization": "Bearer ks_test_" + "a" * 32},
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "service_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_a_portal_page_without_a_database_says_try_again():
    broken = make_test_app(CLOSED_POSTGRES, REDIS_URL=CLOSED_REDIS, WTF_CSRF_ENABLED=False)
    broken.test_client_class = HttpsClient

    with broken.app_context():
        response = broken.test_client().post(
            "/login", data={"email": "a@b.example", "password": "long enough password"}
        )

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0  # the login limiter may state its own
    assert "try again" in response.get_data(as_text=True)


def test_metrics_count_requests_sessions_routing_and_provider_calls(app, client, factories):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    merchant = MerchantApi(client, secret)
    app.test_client_class = HttpsClient
    customer = Customer(app.test_client())
    session = merchant.create_session()
    merchant.create_session(currency="USD")
    customer.go_to_hosted_page(session)

    metrics = client.get("/metrics").get_data(as_text=True)

    assert _sample(metrics, "kadosei_payment_sessions", mode="test", status="open") == 2
    assert (
        _sample(
            metrics,
            "kadosei_http_request_duration_seconds_count",
            endpoint="api.create_payment_session",
            status="201",
        )
        or 0
    ) >= 2
    decided = [
        line for line in metrics.splitlines() if line.startswith("kadosei_routing_decisions_total{")
    ]
    assert decided and 'mode="test"' in decided[0]
    provider = re.search(r'provider="([^"]+)"', decided[0]).group(1)
    assert (
        _sample(
            metrics,
            "kadosei_provider_call_duration_seconds_count",
            provider=provider,
            operation="create_checkout",
            outcome="ok",
        )
        or 0
    ) >= 1
    assert _sample(metrics, "kadosei_queue_depth") is not None
    assert "# TYPE kadosei_refunds gauge" in metrics  # by mode and status, once there are any


def test_metrics_need_the_token_when_one_is_set(database_url, _schema):
    app = make_test_app(database_url, KADOSEI_METRICS_TOKEN="s3cret-metrics-token")
    app.test_client_class = HttpsClient
    client = app.test_client()

    with app.app_context():
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert response.status_code == 200
    assert response.mimetype == "text/plain"


def test_metrics_are_https_only_like_everything_but_the_probes(database_url, _schema):
    app = make_test_app(database_url)

    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")
