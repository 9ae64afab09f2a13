"""Webhooks to merchants (docs/api.md §7): the SSRF guard, Standard Webhooks signing, the outbox
(enqueue after commit), the delivery job with its retry schedule, and the sweeper."""

from __future__ import annotations

from flask import Flask

from kadosei.webhooks.outbox import install_outbox_listeners


def init_webhooks(app: Flask) -> None:
    """Queue new deliveries after every commit (the sweeper is registered with the others)."""
    install_outbox_listeners()
