"""The `moderation` command: serve, db, sites, and the classifier's train/evaluate/score."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click


@contextmanager
def app_context(**overrides):
    """An app for one command; its connections are closed when the command ends."""
    from moderation import create_app
    from moderation.extensions import db as database

    app = create_app(overrides or None)
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            database.session.remove()
            database.engine.dispose()


def upgrade_schema(app) -> None:
    from flask_migrate import upgrade

    # "heads": feature branches of the schema (console, webhooks) each add their own head.
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")


@click.group(help="Comment moderation service for news sites.")
def main() -> None:
    pass


@main.command()
@click.option("--host", envvar="MODERATION_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="MODERATION_PORT", default=8080, type=int, show_default=True)
@click.option("--threads", envvar="MODERATION_THREADS", default=8, type=int, show_default=True)
def serve(host: str, port: int, threads: int) -> None:
    """Upgrade the schema, then serve the API with waitress."""
    import waitress

    from moderation import create_app

    app = create_app({"THREADS": threads})
    with app.app_context():
        upgrade_schema(app)
        _first_start_banner(app)
        holder = app.extensions["moderation.models"]
        model = holder.current.version if holder.current else f"none ({holder.load_error})"
    click.echo(f"Serving on http://{host}:{port} with {threads} threads; model: {model}", err=True)
    waitress.serve(
        app, host=host, port=port, threads=threads,
        max_request_body_size=1024 * 1024, ident="moderation", clear_untrusted_proxy_headers=True,
    )


def _first_start_banner(app) -> None:
    """On an empty database, create a first site and say, once, how to use the service."""
    from moderation.core.sites import count_sites, create_site
    from moderation.extensions import db

    if count_sites(db.session):
        return
    site, api_key = create_site(db.session, "default")
    lines = [
        "",
        "First start: a site named 'default' was created. Its API key (shown only this once):",
        f"    {api_key}",
        "Post a comment:",
        "    curl -X POST http://HOST:PORT/api/v1/comments -H 'Authorization: Bearer <key>' \\",
        "         -H 'Content-Type: application/json' \\",
        "         -d '{\"article_id\": \"1\", \"author_name\": \"Amina\", \"author_email\": \"amina@example.org\", \"content\": \"Bravo\"}'",
        "More sites: moderation sites create NAME",
    ]
    if "moderators" in main.commands:
        lines.append("Create a moderator: moderation moderators create EMAIL --role admin")
    click.echo("\n".join(lines) + "\n", err=True)


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    with app_context(LOAD_MODEL=False) as app:
        upgrade_schema(app)
    click.echo("schema is up to date")


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    from flask_migrate import downgrade

    with app_context(LOAD_MODEL=False) as app:
        downgrade(directory=app.extensions["migrate"].directory, revision=revision)


@main.group()
def sites() -> None:
    """News sites allowed to post comments."""


@sites.command("create")
@click.argument("name")
def sites_create(name: str) -> None:
    """Create a site and print its API key (shown only once)."""
    from moderation.core.sites import create_site
    from moderation.errors import ModerationError
    from moderation.extensions import db as database

    with app_context(LOAD_MODEL=False) as app:
        upgrade_schema(app)
        try:
            site, api_key = create_site(database.session, name)
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(f"site {site.id} '{site.name}' created. API key (shown only this once):", err=True)
    click.echo(api_key)


@sites.command("list")
def sites_list() -> None:
    """List the sites."""
    from moderation.core.sites import list_sites
    from moderation.extensions import db as database

    with app_context(LOAD_MODEL=False):
        for site in list_sites(database.session):
            state = "active" if site.active else "disabled"
            click.echo(f"{site.id}\t{site.name}\t{site.api_key_prefix}…\t{state}\t{site.created_at:%Y-%m-%d}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
