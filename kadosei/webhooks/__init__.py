"""Webhooks to merchants: signing, the outbox and delivery jobs (being built)."""
