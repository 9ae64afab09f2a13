"""The Routing page: the learned router's current estimates and breaker states per segment,
and the template globals that put any routing decision in a merchant's words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template, request
from flask_login import current_user, login_required

from kadosei.models import MODES
from kadosei.portal.blueprint import bp
from kadosei.services import routing_words
from kadosei.services.routing_overview import routing_overview


@bp.get("/routing")
@login_required
def show_routing():
    mode = request.args.get("mode") or "test"
    overview = routing_overview(current_user.merchant_id, mode)
    return render_template("portal/routing/index.html", overview=overview, modes=MODES)


@bp.app_template_global("routing_sentence")
def routing_sentence(why: Mapping[str, Any] | None, provider: str | None = None) -> str:
    return routing_words.attempt_sentence(why, provider, routing_words.provider_names())


@bp.app_template_global("routing_retry")
def routing_retry(why: Mapping[str, Any] | None) -> str | None:
    return routing_words.retry_sentence(why, routing_words.provider_names())


@bp.app_template_global("routing_rule")
def routing_rule(rule: Mapping[str, Any]) -> str:
    return routing_words.rule_words(rule, routing_words.provider_names())


@bp.app_template_global("routing_pause")
def routing_pause(status: Mapping[str, Any], now: float | None = None) -> str | None:
    return routing_words.pause_words(status, now)


@bp.app_template_global("routing_segment")
def routing_segment(segment: Mapping[str, Any]) -> str:
    return routing_words.segment_words(segment)


@bp.app_template_global("provider_label")
def provider_label(provider: str | None) -> str:
    return routing_words.display_name(provider, routing_words.provider_names())


@bp.app_template_filter("routing_state")
def routing_state(state: str | None) -> str:
    return routing_words.state_words(state)


@bp.app_template_filter("payments_seen")
def payments_seen(evidence: float) -> str:
    return routing_words.payments_seen(evidence)
