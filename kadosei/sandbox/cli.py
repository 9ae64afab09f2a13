"""``flask --app app sandbox status|set|reset``: the operator's knobs on the sandbox PSPs
(their back office, from the command line)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from kadosei.sandbox.knobs import InvalidKnob, Knobs, load_all_knobs, reset_knobs, update_knobs
from kadosei.sandbox.psps import psp_names

sandbox_command = AppGroup("sandbox", help="Inspect and steer the built-in sandbox providers.")


def _check_provider(name: str) -> str:
    names = psp_names()
    if name not in names:
        choices = ", ".join(names)
        raise click.BadParameter(f"unknown provider; one of {choices}", param_hint="PROVIDER")
    return name


def _describe(knobs: Knobs) -> str:
    state = "disabled" if not knobs.enabled else ("DOWN" if knobs.down else "up")
    return (
        f"{state:<8} slow_ms={knobs.slow_ms:<6} error_rate={knobs.error_rate:<5g} "
        f"success_rate={knobs.success_rate:g}"
    )


@sandbox_command.command("status")
def status_command() -> None:
    """Show every sandbox provider's knobs."""
    knobs = load_all_knobs()
    for name in psp_names():
        click.echo(f"{name:<16} {_describe(knobs.get(name, Knobs()))}")


@sandbox_command.command("set")
@click.argument("provider")
@click.option("--down/--up", default=None, help="Make its API refuse every call, or answer again.")
@click.option("--slow-ms", type=int, help="Delay every API call by this many milliseconds.")
@click.option("--error-rate", type=float, help="Fraction (0..1) of checkouts that fail with 500.")
@click.option("--success-rate", type=float, help="Fraction (0..1) of valid cards that succeed.")
@click.option("--enable/--disable", default=None, help="Offer it to routing, or not.")
def set_command(
    provider: str,
    down: bool | None,
    slow_ms: int | None,
    error_rate: float | None,
    success_rate: float | None,
    enable: bool | None,
) -> None:
    """Change some of PROVIDER's knobs; the others keep their values."""
    _check_provider(provider)
    changes = {
        "down": down,
        "slow_ms": slow_ms,
        "error_rate": error_rate,
        "success_rate": success_rate,
        "enabled": enable,
    }
    changes = {name: value for name, value in changes.items() if value is not None}
    if not changes:
        raise click.UsageError("Nothing to change: give at least one option (see --help).")
    try:
        knobs = update_knobs(provider, changes)
    except InvalidKnob as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{provider:<16} {_describe(knobs)}")


@sandbox_command.command("reset")
@click.argument("provider", required=False)
def reset_command(provider: str | None) -> None:
    """Put PROVIDER (or every sandbox provider) back to its defaults."""
    names = [_check_provider(provider)] if provider else psp_names()
    for name in names:
        click.echo(f"{name:<16} {_describe(reset_knobs(name))}")
