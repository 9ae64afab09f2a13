"""``flask --app app routing …``: the operator's routing rules and the router's current view."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from kadosei.errors import KadoseiError
from kadosei.providers import registry
from kadosei.routing import StoreUnavailable
from kadosei.services import routing, routing_rules

routing_command = AppGroup(
    "routing", help="Routing rules (disable, pin, split) and the learned router's estimates."
)
merchant_option = click.option(
    "--merchant", "merchant_id", help="Apply to this merchant only (default: every merchant)."
)
note_option = click.option("--note", help="Why (shown in the portal and in explanations).")


def _describe(rule: routing_rules.Rule) -> str:
    scope = rule.merchant_id or "global"
    data = " ".join(f"{k}={_value(v)}" for k, v in rule.data.items())
    note = f"  # {rule.note}" if rule.note else ""
    return f"{rule.source:<28} {rule.kind:<17} {scope:<28} {data}{note}"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{v:g}" for k, v in value.items())
    return str(value)


def _add(kind: str, data: dict, merchant_id: str | None, note: str | None) -> None:
    try:
        row = routing_rules.add_rule(kind, data, merchant_id=merchant_id, note=note)
    except KadoseiError as exc:
        raise click.ClickException(exc.message) from None
    stored = routing_rules.Rule(kind, merchant_id, row.data, row.id, note)
    click.echo(f"Added {row.id}: {_describe(stored)}")


@routing_command.command("rules")
@merchant_option
def rules_command(merchant_id: str | None) -> None:
    """List the rules in force (from KADOSEI_ROUTING and stored ones)."""
    rules = routing_rules.list_rules(merchant_id)
    if not rules:
        click.echo("No routing rules: the learned router decides alone.")
    for rule in rules:
        click.echo(_describe(rule))


@routing_command.command("disable")
@click.argument("provider")
@merchant_option
@note_option
def disable_command(provider: str, merchant_id: str | None, note: str | None) -> None:
    """Never route to PROVIDER (for every merchant, or one)."""
    _add("disable_provider", {"provider": provider}, merchant_id, note)


@routing_command.command("pin")
@click.argument("merchant_id")
@click.argument("providers", nargs=-1, required=True)
@note_option
def pin_command(merchant_id: str, providers: tuple[str, ...], note: str | None) -> None:
    """Route MERCHANT_ID only to PROVIDERS (in the learned order among them)."""
    _add("pin_providers", {"providers": list(providers)}, merchant_id, note)


@routing_command.command("split")
@click.argument("weights", nargs=-1, required=True, metavar="PROVIDER=WEIGHT...")
@merchant_option
@note_option
def split_command(weights: tuple[str, ...], merchant_id: str | None, note: str | None) -> None:
    """Send fixed shares of sessions to providers, e.g. sandbox_lumen=50 sandbox_orbit=50."""
    parsed: dict[str, float] = {}
    for item in weights:
        name, _, weight = item.partition("=")
        try:
            parsed[name] = float(weight)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not PROVIDER=WEIGHT") from None
    _add("fixed_split", {"weights": parsed}, merchant_id, note)


@routing_command.command("remove")
@click.argument("rule_id")
def remove_command(rule_id: str) -> None:
    """Delete a stored rule (rules from KADOSEI_ROUTING change only with the setting)."""
    try:
        routing_rules.remove_rule(rule_id)
    except KadoseiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Removed {rule_id}")


@routing_command.command("status")
@click.option("--mode", default="test", show_default=True)
@click.option("--method", "payment_method", default="card", show_default=True)
@click.option("--currency", default="EUR", show_default=True)
def status_command(mode: str, payment_method: str, currency: str) -> None:
    """The router's estimates and breaker states for one segment."""
    names = [p.name for p in registry.eligible_providers(mode, payment_method, currency.upper())]
    context = {"mode": mode, "payment_method": payment_method, "currency": currency.upper()}
    try:
        statuses = routing.get_router().provider_status(context, names, routing.routing_now())
    except StoreUnavailable as exc:
        raise click.ClickException(f"Routing statistics are unavailable: {exc}") from None
    if not names:
        click.echo("No eligible provider for this segment.")
    for name in names:
        s = statuses[name]
        click.echo(
            f"{name:<16} breaker={s['breaker']:<9} success={s['success_rate']:.3f} "
            f"available={s['availability']:.3f} evidence={s['evidence']}"
        )
