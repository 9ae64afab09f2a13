"""Webhooks to merchants (docs/api.md §7): the SSRF guard, Standard Webhooks signing, the outbox
(announced after commit), one delivery try with its retry schedule, the fair claims and the
worker's delivery pool."""

from __future__ import annotations

from flask import Flask

from kadosei.webhooks.outbox import install_outbox_listeners


def init_webhooks(app: Flask) -> None:
    """Announce new deliveries to the workers' delivery pools after every commit."""
    install_outbox_listeners()
