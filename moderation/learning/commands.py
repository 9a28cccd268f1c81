"""`moderation import wordpress`, `labels import`, `retrain` and `models list|promote|rollback`: thin wrappers."""
from __future__ import annotations

import datetime as dt
import os
import sys

import click


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _app_context():
    from moderation.cli import app_context

    return app_context(LOAD_MODEL=False)


def _settings(app):
    from moderation.learning.settings import LearningSettings

    return app.extensions.get("moderation.learning.settings") or LearningSettings.from_config(app.config)


def _site(session, name: str):
    import sqlalchemy as sa

    from moderation.core.models import Site

    site = session.scalar(sa.select(Site).where(Site.name == name))
    session.rollback()
    if site is None:
        raise click.ClickException(f"no site named {name!r} (moderation sites list)")
    return site


def _parse_with_progress(path: str, label: str, parse):
    from moderation.learning.labels import MalformedFile

    size = os.path.getsize(path)
    try:
        # The bar only shows on a terminal and for files big enough to take a while.
        with click.progressbar(length=size, label=label, file=sys.stderr,
                               hidden=size < 1_000_000) as bar:
            return parse(path, bar.update)
    except MalformedFile as error:
        raise click.ClickException(f"{os.path.basename(path)}: {error.detail}; nothing was imported") from error


@click.group("import")
def import_group() -> None:
    """Import a site's history."""


@import_group.command("wordpress")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_name", required=True, help="Name of the site the comments belong to.")
def import_wordpress(file: str, site_name: str) -> None:
    """Import a WordPress export (WXR .xml) or a CSV dump of wp_comments; importing twice creates nothing."""
    from moderation.extensions import db
    from moderation.learning.history import import_history
    from moderation.learning.wordpress import parse_history

    parsed = _parse_with_progress(file, "Reading", parse_history)
    with _app_context():
        site = _site(db.session, site_name)
        result = import_history(db.session, site, parsed.comments, now=_now())
    click.echo(f"{result.created} comments imported ({result.replies} replies), {result.labels} labels; "
               f"{result.already_imported} already imported, {result.merged_duplicates} duplicates merged, "
               f"{parsed.skipped_types} pingbacks/trackbacks skipped"
               + (f", {result.orphan_replies} replies whose parent is not in the export" if result.orphan_replies else ""))


@click.group()
def labels() -> None:
    """Training labels from the site."""


@labels.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_name", default=None, help="Site the labels belong to (optional).")
def labels_import(file: str, site_name: str | None) -> None:
    """Import labels from a CSV with columns text,label,head[,lang] (label 0/1, head spam|abuse)."""
    from moderation.extensions import db
    from moderation.learning.labels import import_labels, parse_labels_csv

    def parse(path, progress):
        with open(path, encoding="utf-8-sig", newline="") as stream:
            rows = parse_labels_csv(stream)
        progress(os.path.getsize(path))
        return rows

    rows = _parse_with_progress(file, "Reading", parse)
    with _app_context():
        site_id = _site(db.session, site_name).id if site_name else None
        result = import_labels(db.session, rows, now=_now(), site_id=site_id)
    click.echo(f"{result.created} labels imported, {result.already_present} already present")


@click.command()
@click.option("--promote", "force", is_flag=True, help="Promote the candidate even if it is not better.")
def retrain(force: bool) -> None:
    """Build a candidate from the shipped model and the site's labels; promote it only if it is better."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.learning.retrain import retrain as run

    with _app_context() as app:
        try:
            outcome = run(db.session, settings=_settings(app), now=_now(), force_promote=force,
                          by="cli (forced)" if force else "cli")
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(format_report(outcome.report, outcome.compared_with))
    if outcome.promoted:
        click.echo(f"{outcome.version} promoted" + (" (forced)" if outcome.reasons else "")
                   + "; every process switches to it within a few seconds")
    else:
        click.echo(f"{outcome.version} kept as a rejected candidate: " + "; ".join(outcome.reasons))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_report(report: dict, compared_with: str) -> str:
    lines = [f"{'head':<7}{'language':<10}{'n':>6}{'pos':>6}{'candidate':>11}{compared_with[:18]:>20}"]
    for head, entry in report.items():
        lines.append(f"{head:<7}{'all':<10}{entry['n']:>6}{entry['positives']:>6}"
                     f"{_fmt(entry['candidate']):>11}{_fmt(entry['current']):>20}")
        for lang, row in entry["languages"].items():
            lines.append(f"{'':<7}{lang:<10}{row['n']:>6}{row['positives']:>6}"
                         f"{_fmt(row['candidate']):>11}{_fmt(row['current']):>20}")
    return "\n".join(lines)


@click.group()
def models() -> None:
    """Model versions: list, promote, roll back."""


@models.command("list")
def models_list() -> None:
    """Every version, newest first; * marks the one scoring now."""
    from moderation.extensions import db
    from moderation.learning.registry import list_versions

    with _app_context() as app:
        for v in list_versions(db.session, _settings(app)):
            aucs = " ".join(f"{h}={_fmt((v.metrics.get('evaluation') or {}).get(h, {}).get('candidate'))}"
                            for h in ("spam", "abuse")) if v.metrics else ""
            who = f"promoted by {v.promoted_by} {v.promoted_at:%Y-%m-%d %H:%M}" if v.promoted_by else ""
            created = f"{v.created_at:%Y-%m-%d %H:%M}" if v.created_at else "-"
            click.echo("\t".join(["*" if v.current else " ", v.version, v.kind, v.status, created,
                                  f"{v.label_count} labels", aucs, who, v.reason or ""]).rstrip())


@models.command("promote")
@click.argument("version")
def models_promote(version: str) -> None:
    """Make VERSION the model that scores (it is verified first)."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.learning.registry import promote

    with _app_context() as app:
        try:
            promote(db.session, version, by="cli", now=_now(), settings=_settings(app), reason="promoted by hand")
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(f"{version} promoted")


@models.command("rollback")
def models_rollback() -> None:
    """Go back to the version that scored before the current one."""
    from moderation.errors import ModerationError
    from moderation.extensions import db
    from moderation.learning.registry import rollback

    with _app_context() as app:
        try:
            promotion = rollback(db.session, by="cli", now=_now(), settings=_settings(app))
        except ModerationError as error:
            raise click.ClickException(error.detail or error.code) from error
    click.echo(f"rolled back to {promotion.version} (from {promotion.previous_version})")


COMMANDS = (import_group, labels, retrain, models)
