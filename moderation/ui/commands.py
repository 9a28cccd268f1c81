"""`moderation moderators`: create console accounts and print personal API tokens from the command line."""
from __future__ import annotations

import datetime as dt
import sys

import click

from moderation.core.moderators import MIN_PASSWORD_LENGTH, ROLES


@click.group()
def moderators() -> None:
    """Console accounts and their personal API tokens."""


@moderators.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="Shown in the console (default: the part before @).")
@click.option("--language", type=click.Choice(("fr", "en")), default="fr", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def moderators_create(email: str, role: str, name: str | None, language: str, password_stdin: bool) -> None:
    """Create a console account (the password is asked twice, or read from standard input)."""
    from moderation.cli import app_context, upgrade_schema
    from moderation.core.moderators import create_moderator
    from moderation.errors import ModerationError
    from moderation.extensions import db

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with app_context(LOAD_MODEL=False) as app:
        upgrade_schema(app)
        try:
            moderator = create_moderator(db.session, email, password, role=role, name=name, language=language)
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(f"{moderator.role} {moderator.email} created; log in at /moderate/login", err=True)


@moderators.command("token")
@click.argument("email")
def moderators_token(email: str) -> None:
    """Print a new personal API token for EMAIL (shown only this once)."""
    from moderation.cli import app_context
    from moderation.core.moderators import create_token
    from moderation.errors import ModerationError
    from moderation.extensions import db

    with app_context(LOAD_MODEL=False):
        try:
            token = create_token(db.session, email, dt.datetime.now(dt.timezone.utc))
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(f"personal API token for {email.strip().lower()} (shown only this once):", err=True)
    click.echo(token)
