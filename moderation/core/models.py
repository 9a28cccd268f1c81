"""SQLAlchemy models: sites, comments, decisions, idempotency keys and the outbox."""
from __future__ import annotations

import datetime as dt
import secrets
import time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from moderation.core.status import CommentStatus
from moderation.extensions import db


class UTCDateTime(sa.TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no offset, PostgreSQL would shift it."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def _only_where_set(column: str) -> dict:
    """Options of a partial index holding only the rows where `column` is not NULL, on both databases."""
    return _only_where(f"{column} IS NOT NULL")


def _only_where(condition: str) -> dict:
    """Options of a partial index holding only the rows that meet `condition`, on both databases."""
    where = sa.text(condition)
    return {"sqlite_where": where, "postgresql_where": where}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


STATUS_ENUM = sa.Enum(
    CommentStatus,
    name="comment_status",
    native_enum=False,
    length=16,
    values_callable=lambda enum: [member.value for member in enum],
    validate_strings=True,
)


class Site(db.Model):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # sha256 of the key: API keys are 256-bit random, so a slow hash adds nothing but latency.
    api_key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moderation policy of the site (admins change it in the console).
    link_limit: Mapped[int] = mapped_column(default=2, server_default="2")
    report_threshold: Mapped[int] = mapped_column(default=3, server_default="3")
    allow_list_auto_approve: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    trusted_author_after: Mapped[int | None] = mapped_column(default=None)
    language: Mapped[str] = mapped_column(sa.String(8), default="fr", server_default="fr")
    # The event types some active webhook endpoint of the site wants, kept by the webhooks package
    # in the transaction that changes an endpoint. An event of another type is written already
    # dispatched (core.outbox): nobody is told of it, and the relay has nothing to do (migration o001).
    listened_events: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # WordPress refuses the same author saying the same thing twice on one post.
        sa.UniqueConstraint("site_id", "article_id", "author_email", "content_hash", name="uq_comment_duplicate"),
        sa.Index("ix_comments_thread", "site_id", "article_id", "status", "created_at"),
        # One index for an author's comments: the flood check (e-mail, site, since), the author's
        # history on a site, and the console's e-mail filter across sites (migration i001).
        sa.Index("ix_comments_author", "author_email", "site_id", "created_at"),
        sa.Index("ix_comments_flood_ip", "site_id", "author_ip", "created_at"),
        sa.Index("ix_comments_queue", "status", "created_at"),
        # Keyset pagination of the moderation queue, scanned backwards: riskiest, then newest.
        sa.Index("ix_comments_risk", "status", "risk", "id"),
        # Partial: a new comment is never reported, so intake writes no entry here (migration i001).
        sa.Index("ix_comments_reported_at", "reported_at", **_only_where_set("reported_at")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    article_id: Mapped[str] = mapped_column(sa.String(200))
    article_url: Mapped[str | None] = mapped_column(sa.String(200))
    article_title: Mapped[str | None] = mapped_column(sa.String(500))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    author_name: Mapped[str] = mapped_column(sa.String(245))
    author_email: Mapped[str] = mapped_column(sa.String(100))
    author_url: Mapped[str | None] = mapped_column(sa.String(200))
    author_ip: Mapped[str | None] = mapped_column(sa.String(45))
    author_user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    referrer: Mapped[str | None] = mapped_column(sa.String(2048))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[CommentStatus] = mapped_column(STATUS_ENUM, default=CommentStatus.PENDING)
    # Bumped on every change so a moderator acting on a stale page gets a conflict.
    version: Mapped[int] = mapped_column(default=1)
    spam_score: Mapped[float | None]
    abuse_score: Mapped[float | None]
    detected_language: Mapped[str | None] = mapped_column(sa.String(8))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    explanation: Mapped[dict | None] = mapped_column(sa.JSON)
    unscored_reason: Mapped[str | None] = mapped_column(sa.String(200))
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    # max(spam, abuse): the queue's sort key; unscored comments sit in the middle.
    risk: Mapped[float] = mapped_column(default=0.5, server_default="0.5")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("moderators.id", name="fk_comments_claimed_by"))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    decisions: Mapped[list["Decision"]] = relationship(
        back_populates="comment", order_by="Decision.id", cascade="all, delete-orphan"
    )


class Decision(db.Model):
    """One status change of a comment: the history of a comment is the list of these."""

    __tablename__ = "decisions"
    __table_args__ = (
        # Partial: the system's decisions (one per new comment) have no moderator (migration i001).
        sa.Index("ix_decisions_moderator_id", "moderator_id", **_only_where_set("moderator_id")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    reason_code: Mapped[str | None] = mapped_column(sa.String(32))
    note_to_author: Mapped[str | None] = mapped_column(sa.Text)
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    spam_score: Mapped[float | None]
    abuse_score: Mapped[float | None]
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderators.id", name="fk_decisions_moderator_id")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    comment: Mapped[Comment] = relationship(back_populates="decisions")


class IdempotencyKey(db.Model):
    """Stripe-style replay record: the first response to a key, scoped per site."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("site_id", "key", name="uq_idempotency_site_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    key: Mapped[str] = mapped_column(sa.String(255))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def new_event_id() -> str:
    """A webhook message id ("msg_" and 32 hex digits) that sorts by time: 48 bits of milliseconds,
    then 80 random bits (the layout of a UUIDv7, without its version bits).

    Why not uuid4: the primary key's index then takes each new event on a random page, one more page
    written per comment at every intake commit; time-ordered ids are appended."""
    return f"msg_{time.time_ns() // 1_000_000:012x}{secrets.randbits(80):020x}"


class OutboxEvent(db.Model):
    """An event written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # Partial: only events waiting for the relay, oldest first; most are written already
        # dispatched, and leave no entry here (migration o001).
        sa.Index("ix_outbox_events_undispatched", "created_at", **_only_where("dispatched_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=new_event_id)
    # Not indexed: no query looks events up by site or comment, and neither is ever deleted (an
    # index of each cost two B-tree inserts per new comment; migration o001).
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    type: Mapped[str] = mapped_column(sa.String(64))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the worker has turned the event into deliveries (webhooks issue), or at once when
    # no endpoint of the site listens for its type (Site.listened_events).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Moderator(db.Model):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(sa.String(8), default="fr")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(db.Model):
    """Server-side login session: revocable on logout, password change or disabled account."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    moderator_id: Mapped[int] = mapped_column(sa.ForeignKey("moderators.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))


class ApiToken(db.Model):
    """A moderator's personal API token for integrations; shown once, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int] = mapped_column(sa.ForeignKey("moderators.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Rule(db.Model):
    """An admin's rule: blocked or watched term, ban or allow by e-mail, domain, IP or network."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    target: Mapped[str | None] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(255))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("moderators.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(db.Model):
    """A reader's report of a published comment."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str | None] = mapped_column(sa.String(1000))
    reporter_ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(db.Model):
    """Who did what outside decisions: e-mail reveals, rule and setting changes, logins."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("moderators.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    target: Mapped[str | None] = mapped_column(sa.String(200))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
