"""Prometheus metrics of webhooks: outbox backlog, oldest undelivered age, attempts, latency."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session

from moderation.core.db import reading
from moderation.core.models import OutboxEvent
from moderation.webhooks.models import Delivery

ATTEMPTS = Counter("moderation_webhook_attempts_total", "Webhook delivery attempts by result", ["result"])
DELIVERY_SECONDS = Histogram(
    "moderation_webhook_delivery_seconds", "Duration of one webhook HTTP attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
BACKLOG = Gauge("moderation_webhook_backlog", "Outbox events not yet fanned out, and deliveries not finished",
                ["stage"])
OLDEST_UNDELIVERED = Gauge(
    "moderation_webhook_oldest_undelivered_seconds", "Age of the oldest event or delivery still waiting"
)
UNFINISHED = ("pending", "delivering")


def _aware(value):
    # min() results bypass the column type on some drivers: SQLite hands back naive UTC or text.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def refresh_gauges(session: Session, now: dt.datetime) -> dict:
    with reading(session):
        undispatched, oldest_event = session.execute(
            sa.select(sa.func.count(OutboxEvent.id), sa.func.min(OutboxEvent.created_at))
            .where(OutboxEvent.dispatched_at.is_(None))).one()
        unfinished, oldest_delivery = session.execute(
            sa.select(sa.func.count(Delivery.id), sa.func.min(Delivery.created_at))
            .where(Delivery.status.in_(UNFINISHED))).one()
    oldest = [_aware(value) for value in (oldest_event, oldest_delivery) if value is not None]
    age = max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
    BACKLOG.labels(stage="undispatched").set(undispatched)
    BACKLOG.labels(stage="deliveries").set(unfinished)
    OLDEST_UNDELIVERED.set(age)
    return {"undispatched": undispatched, "deliveries": unfinished, "oldest_seconds": age}
