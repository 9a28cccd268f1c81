"""The outbox relay's transactions: fan events out to deliveries, claim due ones, record results."""
from __future__ import annotations

import copy
import functools
import datetime as dt
import json
import random
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import Comment, OutboxEvent
from moderation.webhooks import schedule as backoff
from moderation.webhooks.delivery import Outcome
from moderation.webhooks.listening import refresh_listened_events
from moderation.webhooks.models import EXCERPT_BYTES, Delivery, DeliveryAttempt, WebhookEndpoint
from moderation.webhooks.settings import WebhookSettings

WAKE_FLAG = "moderation.webhooks.wake"


@dataclass(frozen=True)
class Job:
    """A claimed delivery, detached from the session: everything the HTTP attempt needs."""

    delivery_id: int
    event_id: str
    endpoint_id: int
    url: str
    body: str
    secrets: tuple[str, ...]
    attempts: int


def wake_after_commit(session: Session) -> None:
    """Ask in-process workers to look for work as soon as this session commits."""
    session.info[WAKE_FLAG] = True


def envelope(event_type: str, created_at: dt.datetime, data: dict) -> str:
    """The Standard Webhooks payload, serialised once: these exact bytes are signed on every attempt."""
    timestamp = created_at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _with_emails(event_type: str, payload: dict, emails: dict[int, str]) -> dict:
    data = copy.deepcopy(payload)
    comment = data.get("comment") or {}
    if comment.get("id") in emails:
        comment["author_email"] = emails[comment["id"]]
    if event_type == "comment.reply_published" and comment.get("parent_id") in emails:
        # The parent's author is the one the site writes to about a reply.
        data.setdefault("parent", {})["author_email"] = emails[comment["parent_id"]]
    return data


# The idle cycle's statements are built once: the worker runs them after every burst of commits,
# and building them each time was most of its CPU (bench/intake.py, per-thread CPU).
_UNDISPATCHED = sa.select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None))
_ANY_UNDISPATCHED = _UNDISPATCHED.limit(1)
_ANY_ACTIVE_ENDPOINT = sa.select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True)).limit(1)
_NOW = sa.bindparam("now", type_=OutboxEvent.dispatched_at.type)


@functools.lru_cache(maxsize=8)
def _pick_events(limit: int):
    return _UNDISPATCHED.order_by(OutboxEvent.created_at).limit(limit).with_for_update(skip_locked=True)


@functools.lru_cache(maxsize=8)
def _mark_handled(limit: int):
    return (sa.update(OutboxEvent).where(OutboxEvent.id.in_(_pick_events(limit))).values(dispatched_at=_NOW)
            .execution_options(synchronize_session=False))


def has_undispatched(session: Session) -> bool:
    with reading(session):
        return session.scalar(_ANY_UNDISPATCHED) is not None


def fan_out(session: Session, now: dt.datetime, limit: int = 200) -> int:
    """Turn undispatched events into one delivery per matching active endpoint; returns events handled."""
    if not has_undispatched(session):  # a read first: idle polling must not take SQLite's write lock
        return 0
    with transaction(session):
        # Claiming by UPDATE first takes the write lock up front (no SQLite snapshot conflict later).
        pick = _pick_events(limit)
        if not session.scalar(_ANY_ACTIVE_ENDPOINT):
            # Nobody listens: mark the events handled without reading their payloads back.
            return session.execute(_mark_handled(limit), {"now": now}).rowcount
        events = session.execute(
            sa.update(OutboxEvent).where(OutboxEvent.id.in_(pick)).values(dispatched_at=now)
            .returning(OutboxEvent.id, OutboxEvent.site_id, OutboxEvent.type, OutboxEvent.comment_id,
                       OutboxEvent.payload, OutboxEvent.created_at)
            .execution_options(synchronize_session=False)
        ).all()
        if not events:
            return 0
        events.sort(key=lambda event: (event.created_at, event.id))  # RETURNING keeps no order on PostgreSQL
        endpoints = session.scalars(sa.select(WebhookEndpoint).where(
            WebhookEndpoint.site_id.in_({event.site_id for event in events}), WebhookEndpoint.active.is_(True))).all()
        emails = _author_emails(session, events) if any(e.include_author_email for e in endpoints) else {}
        for event in events:
            for endpoint in endpoints:
                if endpoint.site_id != event.site_id or not endpoint.wants(event.type):
                    continue
                data = event.payload
                if endpoint.include_author_email:
                    data = _with_emails(event.type, event.payload, emails)
                session.add(Delivery(event_id=event.id, endpoint_id=endpoint.id,
                                     body=envelope(event.type, event.created_at, data), status="pending",
                                     next_attempt_at=now, created_at=now, updated_at=now))
        wake_after_commit(session)
    return len(events)


def _author_emails(session: Session, events) -> dict[int, str]:
    ids = set()
    for event in events:
        comment = (event.payload or {}).get("comment") or {}
        ids.update(i for i in (event.comment_id, comment.get("parent_id")) if i is not None)
    if not ids:
        return {}
    return dict(session.execute(sa.select(Comment.id, Comment.author_email).where(Comment.id.in_(ids))).all())


def _due(now: dt.datetime):
    return sa.or_(
        sa.and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        # A worker that died mid-attempt leaves its lease behind; once expired, anyone may take over.
        sa.and_(Delivery.status == "delivering", Delivery.locked_until < now),
    )


_ANY_DUE = sa.select(Delivery.id).where(_due(sa.bindparam("now", type_=Delivery.next_attempt_at.type))).limit(1)


def has_due(session: Session, now: dt.datetime) -> bool:
    with reading(session):
        return session.scalar(_ANY_DUE, {"now": now}) is not None


def claim(session: Session, worker_id: str, now: dt.datetime, lease_seconds: float, limit: int = 1,
          look_first: bool = True) -> list[Job]:
    """Lease up to `limit` due deliveries of active endpoints (UPDATE ... RETURNING; SKIP LOCKED on PG).

    look_first: a cheap read before the UPDATE, so that idle polling takes no SQLite write lock;
    a busy worker skips it.
    """
    if look_first and not has_due(session, now):
        return []
    with transaction(session):
        pick = (sa.select(Delivery.id).join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
                .where(_due(now), WebhookEndpoint.active.is_(True))
                .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
                .with_for_update(skip_locked=True, of=Delivery))
        rows = session.execute(
            sa.update(Delivery).where(Delivery.id.in_(pick))
            .values(status="delivering", locked_by=worker_id, locked_until=now + dt.timedelta(seconds=lease_seconds),
                    attempts=Delivery.attempts + 1, updated_at=now)
            .returning(Delivery.id, Delivery.event_id, Delivery.endpoint_id, Delivery.body, Delivery.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            return []
        endpoints = {e.id: e for e in session.scalars(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_({row.endpoint_id for row in rows})))}
        return [Job(row.id, row.event_id, row.endpoint_id, endpoints[row.endpoint_id].url, row.body,
                    tuple(endpoints[row.endpoint_id].signing_secrets(now)), row.attempts) for row in rows]


def record_result(session: Session, job: Job, outcome: Outcome, worker_id: str, now: dt.datetime,
                  settings: WebhookSettings, rng: random.Random | None = None) -> backoff.Verdict:
    """Store one attempt and what comes next; a lost lease never hides a success."""
    verdict = backoff.after_attempt(job.attempts, outcome.status_code, outcome.retry_after, now,
                                    settings.schedule, settings.jitter, rng)
    excerpt = (outcome.excerpt or "")[:EXCERPT_BYTES] or None
    with transaction(session):
        values = dict(status=verdict.status, next_attempt_at=verdict.next_attempt_at, locked_by=None,
                      locked_until=None, last_status_code=outcome.status_code, last_error=outcome.error,
                      last_latency_ms=outcome.latency_ms, last_response_excerpt=excerpt, updated_at=now)
        if verdict.status == "delivered":
            values["delivered_at"] = now
        mine = sa.update(Delivery).where(Delivery.id == job.delivery_id, Delivery.locked_by == worker_id,
                                         Delivery.status == "delivering").values(**values)
        if session.execute(mine).rowcount == 0 and verdict.status == "delivered":
            session.execute(
                sa.update(Delivery).where(Delivery.id == job.delivery_id, Delivery.status != "delivered")
                .values(status="delivered", delivered_at=now, locked_by=None, locked_until=None, updated_at=now))
        session.add(DeliveryAttempt(delivery_id=job.delivery_id, number=job.attempts, worker=worker_id,
                                    status_code=outcome.status_code, error=outcome.error, latency_ms=outcome.latency_ms,
                                    response_excerpt=excerpt, created_at=now))
        if verdict.disable_endpoint:
            site_id = session.execute(
                sa.update(WebhookEndpoint).where(WebhookEndpoint.id == job.endpoint_id).values(
                    active=False, updated_at=now, disabled_reason=f"410 Gone at {now:%Y-%m-%d %H:%M:%S} UTC")
                .returning(WebhookEndpoint.site_id)).scalar_one()
            refresh_listened_events(session, site_id)
    return verdict
