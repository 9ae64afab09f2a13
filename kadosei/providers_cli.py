"""``flask --app app providers check``: the configured provider accounts, each proven with one
harmless authenticated call. Prints the account, never its credentials."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from kadosei.providers.base import ProviderError
from kadosei.providers.registry import configured_providers

providers_command = AppGroup("providers", help="Provider accounts (KADOSEI_PROVIDERS).")


@providers_command.command("check")
def check_command() -> None:
    """Check every configured account with one authenticated call (KADOSEI_PROVIDERS itself
    was checked when the app started)."""
    providers = configured_providers()
    if not providers:
        click.echo("KADOSEI_PROVIDERS: no provider accounts configured (sandbox providers only)")
        return
    failed = 0
    for provider in providers:
        account = provider.account
        label = f"{provider.name} ({account.type}, {account.mode})" if account else provider.name
        try:
            provider.check_credentials()
        except ProviderError as exc:
            failed += 1
            click.echo(f"FAIL {label}: {exc}")
        else:
            click.echo(f"OK   {label}")
    if failed:
        raise click.ClickException(f"{failed} of {len(providers)} provider accounts failed")
