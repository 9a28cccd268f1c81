"""Webhook tables: endpoints a site registers, one delivery per (event, endpoint), and its attempts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from moderation.core.models import UTCDateTime, utcnow
from moderation.extensions import db

EVENT_TYPES = (
    "comment.received",
    "comment.approved",
    "comment.rejected",
    "comment.spam",
    "comment.reply_published",
    "comment.reported",
    "comment.restored",
)
TEST_EVENT_TYPE = "webhook.test"
DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed")
EXCERPT_BYTES = 4096


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    event_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    include_author_email: Mapped[bool] = mapped_column(default=False)
    # Kept in clear: HMAC signing needs the key itself, as every Standard Webhooks sender does.
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets

    def wants(self, event_type: str) -> bool:
        return event_type in (self.event_types or ())


class Delivery(db.Model):
    """One event for one endpoint; retried until delivered or failed, redeliverable by hand."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.ForeignKey("outbox_events.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id"))
    # The exact bytes signed and sent, built once so every retry carries the same body.
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(sa.String(64))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    last_latency_ms: Mapped[int | None]
    last_response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class DeliveryAttempt(db.Model):
    """The log the console shows: one row per finished attempt (a killed worker leaves none)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int]
    worker: Mapped[str | None] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(300))
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
