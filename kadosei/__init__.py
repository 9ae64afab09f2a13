"""kadosei: payment orchestration. ``create_app`` is the only way to build the app."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from kadosei.config import BASE_DIR, load_config
from kadosei.extensions import csrf, db, limiter, login_manager, migrate
from kadosei.logs import configure_logging
from kadosei.pool_ping import ping_idle_connections

log = logging.getLogger("kadosei")

# The blueprints, services and jobs are imported inside the functions below, not up here: every
# ``import kadosei.…`` runs this file first, and the config, the models or the routing policy
# alone should not load the whole app. (There is no import cycle either way.)


def create_app(config: dict | None = None) -> Flask:
    """Build a configured app: extensions, blueprints, error handlers and CLI."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.update(load_config(config))
    app.json.sort_keys = False
    configure_logging()
    _ensure_sqlite_folder(app)

    proxies = app.config["KADOSEI_PROXY_COUNT"]
    if proxies:
        # X-Forwarded-Host is not trusted: no URL kadosei builds comes from a request's host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)

    _init_extensions(app)
    from kadosei.providers.registry import init_providers

    init_providers(app)  # KADOSEI_PROVIDERS: a bad one refuses to start
    _register_blueprints(app)

    from kadosei.cli import register_cli
    from kadosei.error_handlers import register_error_handlers
    from kadosei.http import init_http
    from kadosei.services.routing_rules import load_configured_rules
    from kadosei.webhooks import init_webhooks

    init_http(app)
    _register_sweeps(app)
    init_webhooks(app)
    register_error_handlers(app)
    register_cli(app)
    load_configured_rules(app)
    if app.config["KADOSEI_ALLOW_HTTP_LOOPBACK"]:
        log.warning("development mode: plain HTTP is accepted from loopback clients only")
    return app


def _ensure_sqlite_folder(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "connect_args": {"timeout": 30},
        }


def _init_extensions(app: Flask) -> None:
    # Metadata (and migrations) see every table: kadosei's and the sandbox PSPs' own.
    import kadosei.models
    import kadosei.sandbox.models  # noqa: F401

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    limiter.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "portal.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from kadosei.portal.session import load_user

    login_manager.user_loader(load_user)


def _register_sweeps(app: Flask) -> None:
    """Every periodic job the workers run, in the order they run (``kadosei.jobs.sweeps``)."""
    from kadosei.jobs.sweeps import register_sweep
    from kadosei.sandbox.jobs import sweep_sandbox_payments
    from kadosei.services.captures import void_expired_authorisations
    from kadosei.services.idempotency import prune_idempotency_records
    from kadosei.services.late_holds import release_unused_holds
    from kadosei.services.reconciliation import reconcile_quiet_sessions
    from kadosei.services.refund_confirmation import confirm_pending_refunds
    from kadosei.services.session_expiry import expire_due_sessions

    register_sweep(app, prune_idempotency_records)  # idempotency keys older than 24 h
    register_sweep(app, expire_due_sessions)  # open sessions past expires_at
    register_sweep(app, void_expired_authorisations)  # holds past KADOSEI_CAPTURE_WINDOW
    register_sweep(app, release_unused_holds)  # holds of ended sessions a provider left
    register_sweep(app, sweep_sandbox_payments)  # delayed sandbox cards, lost notifications
    register_sweep(app, reconcile_quiet_sessions)  # ask providers about quiet sessions
    register_sweep(app, confirm_pending_refunds)  # ask providers about quiet pending refunds


def _register_portal_navigation(app: Flask) -> None:
    """The portal's top-level pages and an application's page links, in the order shown."""
    from kadosei.portal.blueprint import add_application_link, add_nav_item
    from kadosei.services.accounts import may_operate

    add_nav_item(app, "portal.show_dashboard", "Dashboard")
    add_nav_item(app, "portal.list_payments", "Payments")
    add_nav_item(app, "portal.show_routing", "Routing")
    add_nav_item(app, "portal.list_provider_accounts", "Providers", shown_to=may_operate)
    add_nav_item(app, "sandbox_office.show_providers", "Sandbox")
    add_nav_item(app, "portal.show_team", "Team")
    add_nav_item(app, "portal.show_audit_log", "Audit")
    add_nav_item(app, "docs.api_reference", "Docs")
    add_application_link(app, "portal.list_webhook_endpoints", "Webhooks")


def _register_blueprints(app: Flask) -> None:
    from kadosei.api import bp as api_bp
    from kadosei.api.key_limits import init_api_key_limit
    from kadosei.api.notifications import notifications_bp
    from kadosei.checkout import bp as checkout_bp
    from kadosei.docs import bp as docs_bp
    from kadosei.ops import bp as ops_bp
    from kadosei.portal import bp as portal_bp
    from kadosei.sandbox import init_sandbox
    from kadosei.services.accounts import may_operate

    init_api_key_limit(app)
    for json_bp in (api_bp, notifications_bp):
        csrf.exempt(json_bp)
        app.register_blueprint(json_bp)
    for page_bp in (portal_bp, checkout_bp, docs_bp, ops_bp):
        app.register_blueprint(page_bp)
    # The sandbox PSPs serve their own pages; their back office trusts kadosei's operators.
    init_sandbox(app, may_operate=lambda: may_operate(current_user))
    _register_portal_navigation(app)
