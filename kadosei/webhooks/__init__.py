"""Webhooks to merchants (contract §7): the SSRF guard, Standard Webhooks signing, the outbox
(enqueue after commit), the delivery job with its retry schedule, and the sweeper."""

from __future__ import annotations

from flask import Flask


def init_webhooks(app: Flask) -> None:
    """Queue new deliveries after every commit and let workers sweep for lost ones."""
    from kadosei.jobs.sweeps import register_sweep
    from kadosei.webhooks.outbox import install_outbox_listeners
    from kadosei.webhooks.sweeper import requeue_due_deliveries

    app.config.setdefault("KADOSEI_WEBHOOK_TIMEOUT", 10.0)
    app.config.setdefault("KADOSEI_WEBHOOK_LEASE_SECONDS", 45)
    install_outbox_listeners()
    register_sweep(requeue_due_deliveries)
