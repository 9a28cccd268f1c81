"""The `moderation webhooks ...` and `moderation worker` commands: thin wrappers over the use cases."""
from __future__ import annotations

import datetime as dt
import signal

import click


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _app_context():
    from moderation.cli import app_context

    return app_context(LOAD_MODEL=False)


def _fail(error) -> click.ClickException:
    detail = getattr(error, "errors", None) or getattr(error, "detail", None) or getattr(error, "code", str(error))
    return click.ClickException(str(detail))


def _site_id(session, name: str) -> int:
    import sqlalchemy as sa

    from moderation.core.models import Site

    site_id = session.scalar(sa.select(Site.id).where(Site.name == name))
    session.rollback()
    if site_id is None:
        raise click.ClickException(f"no site named {name!r}")
    return site_id


@click.group()
def webhooks() -> None:
    """Webhook endpoints and their deliveries."""


@webhooks.command("add")
@click.argument("url")
@click.option("--site", "site_name", required=True, help="Name of the site the endpoint belongs to.")
@click.option("--events", default=None, help="Comma-separated event types (default: all).")
@click.option("--include-author-email", is_flag=True, help="Payloads carry the author's e-mail.")
@click.option("--inactive", is_flag=True, help="Create it disabled.")
def webhooks_add(url, site_name, events, include_author_email, inactive) -> None:
    """Register URL for a site and print its secret (shown only once)."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.webhooks import endpoints

    event_types = [e.strip() for e in events.split(",") if e.strip()] if events else None
    with _app_context():
        try:
            endpoint, secret = endpoints.add_endpoint(
                db.session, _site_id(db.session, site_name), url, event_types=event_types, active=not inactive,
                include_author_email=include_author_email, now=_now())
        except ModerationError as error:
            raise _fail(error) from error
    click.echo(f"endpoint {endpoint.id} -> {endpoint.url} ({', '.join(endpoint.event_types)}). "
               "Secret (shown only this once):", err=True)
    click.echo(secret)


@webhooks.command("list")
@click.option("--site", "site_name", default=None)
def webhooks_list(site_name) -> None:
    """List endpoints (never their secrets)."""
    from moderation.extensions import db
    from moderation.webhooks import endpoints

    with _app_context():
        site_id = _site_id(db.session, site_name) if site_name else None
        for e in endpoints.list_endpoints(db.session, site_id):
            state = "active" if e.active else f"disabled ({e.disabled_reason or 'by hand'})"
            email = " +email" if e.include_author_email else ""
            click.echo(f"{e.id}\tsite {e.site_id}\t{e.url}\t{','.join(e.event_types)}{email}\t{state}")


@webhooks.command("rotate")
@click.argument("endpoint_id", type=int)
@click.option("--grace-hours", type=int, default=None, help="How long the old secret keeps signing.")
def webhooks_rotate(endpoint_id, grace_hours) -> None:
    """Give an endpoint a new secret; print it (shown only once)."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.webhooks import endpoints

    with _app_context() as app:
        settings = app.extensions["moderation.webhooks.settings"]
        hours = grace_hours if grace_hours is not None else settings.rotation_grace_hours
        try:
            endpoint, secret = endpoints.rotate_secret(db.session, endpoint_id, site_id=None, now=_now(),
                                                       grace=dt.timedelta(hours=hours))
        except ModerationError as error:
            raise _fail(error) from error
    until = f"{endpoint.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC"
    click.echo(f"endpoint {endpoint.id}: new secret; the old one signs too until {until}. "
               "New secret (shown only this once):", err=True)
    click.echo(secret)


@webhooks.command("redeliver")
@click.option("--delivery", "delivery_id", type=int, help="One delivery to send again.")
@click.option("--endpoint", "endpoint_id", type=int, help="Requeue this endpoint's failed deliveries...")
@click.option("--since", type=click.DateTime(), help="...whose event happened at or after this time (UTC)...")
@click.option("--until", type=click.DateTime(), help="...and before this time (UTC; default now).")
def webhooks_redeliver(delivery_id, endpoint_id, since, until) -> None:
    """Send one delivery again, or every failed delivery of an endpoint in a time range."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.webhooks import endpoints

    if (delivery_id is None) == (endpoint_id is None):
        raise click.UsageError("give either --delivery or --endpoint with --since")
    with _app_context():
        try:
            if delivery_id is not None:
                endpoints.redeliver(db.session, delivery_id, now=_now())
                click.echo(f"delivery {delivery_id} queued")
                return
            if since is None:
                raise click.UsageError("--endpoint needs --since")
            utc = dt.timezone.utc
            count = endpoints.redeliver_failed(db.session, endpoint_id, since.replace(tzinfo=utc),
                                               (until or dt.datetime.now(utc)).replace(tzinfo=utc), now=_now())
        except ModerationError as error:
            raise _fail(error) from error
    click.echo(f"{count} failed deliveries queued")


@click.command("worker")
def worker() -> None:
    """Run the webhook worker in the foreground (any number on PostgreSQL; one on SQLite)."""
    from moderation.cli import app_context
    from moderation.webhooks.settings import raw_value
    from moderation.webhooks.worker import Worker

    # WEBHOOK_WORKER off: this process runs exactly one worker, the one started below.
    with app_context(LOAD_MODEL=False, WEBHOOK_WORKER=False) as app:
        settings = app.extensions["moderation.webhooks.settings"]
        port = int(raw_value(app.config, "WEBHOOK_METRICS_PORT"))
        if port:
            from prometheus_client import start_http_server

            start_http_server(port, addr="127.0.0.1")
        running = Worker(app, settings).start()
        from moderation.learning import start_background

        # The worker process also retrains the site's model on schedule (never the web process).
        start_background(app, watch=False, schedule=True)
        stop = running.stopping
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"webhook worker {running.name}: {settings.concurrency} threads", err=True)
        while not stop.wait(1.0):
            pass
        running.stop()
