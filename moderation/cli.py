"""The `moderation` command: serve, db, sites, and the classifier's train/evaluate/score."""
from __future__ import annotations

import logging
import os
import sys
import time
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
@click.option("--threads", envvar="MODERATION_THREADS", default=32, type=int, show_default=True)
def serve(host: str, port: int, threads: int) -> None:
    """Upgrade the schema, then serve the API with waitress."""
    import waitress

    from moderation import create_app

    app = create_app({"THREADS": threads, "WEBHOOK_WORKER": False})  # started below, once the schema is up
    with app.app_context():
        upgrade_schema(app)
        _refresh_planner_statistics()
        _first_start_banner(app)
        holder = app.extensions["moderation.models"]
        model = holder.current.version if holder.current else f"none ({holder.load_error})"
    click.echo(f"Serving on http://{host}:{port} with {threads} threads; model: {model}", err=True)
    if os.environ.get("MODERATION_WEBHOOK_WORKER", "true").strip().lower() in {"1", "true", "yes", "on"}:
        from moderation.webhooks import start_worker

        start_worker(app)
    writer_process = False
    if os.environ.get("MODERATION_GROUP_COMMIT", "true").strip().lower() in {"1", "true", "yes", "on"}:
        from moderation.intake_writer import start_intake_writer

        writer_process = _writer_in_process(app)
        start_intake_writer(app, process=writer_process)
    processes = app.config["MODERATION_SCORING_PROCESSES"]
    if processes > 0 and not writer_process:  # a writer process scores its batches itself
        from moderation.scoring_pool import start_scoring_pool

        start_scoring_pool(app, processes)
    from moderation.learning import start_background

    # Watch for promoted models (hot swap); retraining itself runs in `moderation worker`.
    start_background(app, schedule=False)
    logging.getLogger("waitress.queue").addFilter(_OncePer(seconds=30))
    try:
        waitress.serve(
            app, host=host, port=port, threads=threads,
            max_request_body_size=1024 * 1024, ident="moderation", clear_untrusted_proxy_headers=True,
        )
    finally:
        from moderation.intake_writer import EXTENSION

        writer = app.extensions.get(EXTENSION)  # also one between two children: stop() ends the restart
        if writer is not None:
            writer.stop()  # a writer process finishes the batch it holds instead of being killed mid-way


def _writer_in_process(app) -> bool:
    """Whether intake's writer is a child process (which also scores) rather than a thread.

    auto: a child on PostgreSQL, and on SQLite when a model is loaded; a thread on SQLite without
    one, where the child served fewer comments (bench/README.md, "Intake", fifteenth session)."""
    choice = app.config["MODERATION_INTAKE_WRITER"]
    if choice == "auto":
        sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        return not sqlite or app.extensions["moderation.models"].current is not None
    return choice == "process"


class _OncePer(logging.Filter):
    """Let a record through at most once per period.

    Waitress warns "Task queue depth is N" on every request that finds all threads busy: under
    saturation that is one log line per request, written by the thread that accepts connections
    (bench/intake.py at 32 clients lost a third of its throughput to it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.next_at = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + self.seconds
        return True


def _refresh_planner_statistics() -> None:
    """SQLite has no autovacuum: without statistics its planner picks the queue index for searches."""
    import sqlalchemy as sa

    from moderation.extensions import db as database

    if database.engine.dialect.name == "sqlite":
        with database.engine.begin() as connection:
            connection.execute(sa.text("PRAGMA optimize=0x10002"))


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


def _models_dir() -> str:
    from moderation.config import REPO_MODELS_DIR

    return os.environ.get("MODERATION_MODELS_DIR") or str(REPO_MODELS_DIR)


@main.command()
@click.option("--datasets", "datasets_dir", type=click.Path(file_okay=False), default=None,
              help="Dataset folder (default: MODERATION_DATASETS_DIR, else ../shared/datasets).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False), default=None)
@click.option("--version", default=None, help="Version name (default: the next free one).")
@click.option("--seed", type=int, default=None)
@click.option("--no-loso", is_flag=True, help="Skip leave-one-source-out evaluation (quick runs only).")
@click.option("--limit-per-dataset", type=int, default=None, help="Sample rows per dataset (quick runs).")
@click.option("--no-promote", is_flag=True, help="Do not point models/CURRENT at the new version.")
def train(datasets_dir, models_dir, version, seed, no_loso, limit_per_dataset, no_promote) -> None:
    """Train both heads from the manifest and write a new versioned model artifact."""
    from moderation.classifier.commands import train_command

    metadata = train_command(datasets_dir=datasets_dir, models_dir=models_dir or _models_dir(), version=version,
                             seed=seed, loso=not no_loso, limit_per_dataset=limit_per_dataset,
                             promote=not no_promote)
    click.echo(metadata["version"])


@main.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns text,label[,lang].")
@click.option("--head", required=True, type=click.Choice(["spam", "abuse"]))
@click.option("--models", "models_dir", type=click.Path(file_okay=False), default=None)
@click.option("--version", default=None)
def evaluate(data, head, models_dir, version) -> None:
    """ROC-AUC, PR-AUC and precision/recall/F1 at the shipped threshold, overall and per language."""
    from moderation.classifier.commands import evaluate_command, format_evaluation

    click.echo(format_evaluation(evaluate_command(data=data, head=head, models_dir=models_dir or _models_dir(),
                                                  version=version)))


@main.command()
@click.argument("input_file", default="-")
@click.option("--output", default="-", help="Where to write JSON lines (default: standard output).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False), default=None)
@click.option("--version", default=None)
def score(input_file, output, models_dir, version) -> None:
    """Score a CSV (text column) or JSON lines (text key): one JSON line per input, in order."""
    from moderation.classifier.commands import score_command

    count = score_command(input=input_file, output=output, models_dir=models_dir or _models_dir(), version=version)
    click.echo(f"scored {count} comments", err=True)


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


from moderation.webhooks.commands import webhooks as _webhooks_group, worker as _worker_command  # noqa: E402

main.add_command(_webhooks_group)
main.add_command(_worker_command)

from moderation.ui.commands import moderators as _moderators_group  # noqa: E402

main.add_command(_moderators_group)

from moderation.learning.commands import COMMANDS as _learning_commands  # noqa: E402

for _command in _learning_commands:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
