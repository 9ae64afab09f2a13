"""Operator commands: ``flask --app app create-merchant`` and friends."""

from __future__ import annotations

import click
from flask import Flask

from kadosei.errors import KadoseiError


def register_cli(app: Flask) -> None:
    from kadosei.jobs.worker import worker_command
    from kadosei.providers.sandbox.cli import sandbox_command
    from kadosei.routing_cli import routing_command

    app.cli.add_command(worker_command)
    app.cli.add_command(sandbox_command)
    app.cli.add_command(routing_command)

    @app.cli.command("create-merchant")
    @click.option("--name", required=True, help="The merchant's name.")
    @click.option("--email", required=True, help="The owner's e-mail (their login).")
    @click.option("--password", help="The owner's password; prompted for when omitted.")
    def create_merchant_command(name: str, email: str, password: str | None) -> None:
        """Create a merchant and its owner user."""
        from kadosei.services.accounts import create_merchant

        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            merchant, user = create_merchant(name, email, password)
        except KadoseiError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"Created merchant {merchant.id} ({merchant.name}); owner {user.email}")
