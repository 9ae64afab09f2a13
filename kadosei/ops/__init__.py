"""The operator's probes: ``/healthz``, ``/readyz`` and ``/metrics`` (docs/api.md §12).

JSON, no session, no secrets. ``/healthz`` and ``/readyz`` also answer plain HTTP (a load
balancer probes each instance directly); ``/metrics`` is HTTPS like everything else and, when
``KADOSEI_METRICS_TOKEN`` is set, needs it as a bearer token.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kadosei.metrics import bearer_matches, scrape_registry
from kadosei.services.operations import check_readiness, database_metrics

bp = Blueprint("ops", __name__)

RETRY_AFTER_SECONDS = 5


@bp.get("/healthz")
def healthz():
    """The process answers requests (liveness): nothing else is checked."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """200 ``ready`` or ``degraded`` (the queue down: payments work, webhooks wait); 503
    ``unavailable`` when the database cannot be reached."""
    readiness = check_readiness()
    response = jsonify(readiness.as_dict())
    if not readiness.database:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics():
    token = current_app.config["KADOSEI_METRICS_TOKEN"]
    if token and not bearer_matches(request.headers.get("Authorization", ""), token):
        return Response(
            "metrics need the operator's bearer token\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = scrape_registry(current_app.config["PROMETHEUS_MULTIPROC_DIR"])
    body = generate_latest(registry) + database_metrics()
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
