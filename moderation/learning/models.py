"""Learning tables: site labels, the WordPress id mapping, model versions, promotions, threshold overrides."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from moderation.core.models import UTCDateTime, utcnow
from moderation.extensions import db

HEADS = ("spam", "abuse")
LABEL_SOURCES = ("decision", "import", "wordpress")


class Label(db.Model):
    """One training example from the site: a comment's text and what its moderators said of it, per head."""

    __tablename__ = "labels"
    __table_args__ = (
        # One label per comment and head: approve is a negative for both heads at once, and a later
        # decision replaces the comment's labels (imported CSV labels have no comment: NULLs never clash).
        sa.UniqueConstraint("comment_id", "head", name="uq_labels_comment_head"),
        sa.Index("ix_labels_head_created", "head", "created_at"),
        sa.Index("ix_labels_text_hash", "head", "text_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    head: Mapped[str] = mapped_column(sa.String(8))
    value: Mapped[int] = mapped_column(sa.SmallInteger)
    source: Mapped[str] = mapped_column(sa.String(16))
    # The text the model reads (content, author name and URL composed), kept as it was when labelled.
    text: Mapped[str] = mapped_column(sa.Text)
    text_hash: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WordPressComment(db.Model):
    """Which WordPress comment became which comment here: what makes a re-import create nothing."""

    __tablename__ = "wordpress_comments"
    __table_args__ = (sa.UniqueConstraint("site_id", "wp_comment_id", name="uq_wordpress_site_comment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    wp_comment_id: Mapped[int] = mapped_column(sa.BigInteger)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(db.Model):
    """A model this service knows: a shipped base or a site candidate, with its evaluation and fate."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))            # base | site
    base_version: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))         # candidate | promoted | rejected | retired
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    label_count: Mapped[int] = mapped_column(default=0)
    metrics: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelPromotion(db.Model):
    """Each time a version became the one that scores: the newest row is the current model."""

    __tablename__ = "model_promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(64))
    previous_version: Mapped[str | None] = mapped_column(sa.String(64))
    # "retrain (automatic)", "cli", "moderator:<email>", "rollback by ..."
    promoted_by: Mapped[str] = mapped_column(sa.String(200))
    moderator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("moderators.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    # A rollback undoes the newest promotion still in force, so two rollbacks go two versions back.
    rollback: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ThresholdOverride(db.Model):
    """An admin's threshold for a head, applied on top of whichever model scores."""

    __tablename__ = "threshold_overrides"
    __table_args__ = (sa.UniqueConstraint("head", "name", name="uq_threshold_override"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    head: Mapped[str] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(16))           # flag | auto_spam | auto_approve
    value: Mapped[float]
    moderator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("moderators.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
