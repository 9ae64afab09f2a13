"""Operator commands: ``flask --app app create-merchant`` and friends."""

from __future__ import annotations

import click
from flask import Flask

from kadosei.config import settings_table
from kadosei.errors import KadoseiError
from kadosei.jobs.worker import worker_command
from kadosei.providers_cli import providers_command
from kadosei.routing_cli import routing_command
from kadosei.sandbox.cli import sandbox_command
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import Signup
from kadosei.services.accounts import create_merchant, find_user_by_email, set_operator
from kadosei.services.two_factor import reencrypt_secrets


def register_cli(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(sandbox_command)
    app.cli.add_command(routing_command)
    app.cli.add_command(providers_command)

    @app.cli.command("create-merchant")
    @click.option("--name", required=True, help="The merchant's name.")
    @click.option("--email", required=True, help="The owner's e-mail (their login).")
    @click.option("--password", help="The owner's password; prompted for when omitted.")
    @click.option("--operator", is_flag=True, help="Also make the owner a platform operator.")
    def create_merchant_command(name: str, email: str, password: str | None, operator: bool):
        """Create a merchant and its owner user."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            signup = parse(Signup, {"name": name, "email": email, "password": password})
            merchant, user = create_merchant(signup)
        except KadoseiError as exc:
            raise click.ClickException(exc.message) from None
        if operator:
            set_operator(user, True)
        role = " (platform operator)" if operator else ""
        click.echo(f"Created merchant {merchant.id} ({merchant.name}); owner {user.email}{role}")

    @app.cli.command("set-operator")
    @click.argument("email")
    @click.option("--revoke", is_flag=True, help="Take the operator right away instead.")
    def set_operator_command(email: str, revoke: bool) -> None:
        """Grant (or --revoke) platform-operator rights to an existing user."""
        user = find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No user with e-mail {email}")
        set_operator(user, not revoke)
        click.echo(f"{user.email} is {'no longer ' if revoke else ''}a platform operator")

    @app.cli.command("rotate-encryption")
    def rotate_encryption_command() -> None:
        """Re-encrypt every stored secret under the first KADOSEI_ENCRYPTION_KEYS key (then the
        older keys can be dropped)."""
        count = reencrypt_secrets()
        click.echo(f"Re-encrypted {count} two-factor secret(s) under the first key")

    @app.cli.command("settings")
    def settings_command() -> None:
        """Print the environment settings as the README's configuration table."""
        click.echo(settings_table(), nl=False)
