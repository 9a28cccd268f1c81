"""Use cases on endpoints and deliveries, for the API, the CLI and the console: one transaction each."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import OutboxEvent, Site
from moderation.core.queries import MAX_ID
from moderation.errors import FieldErrors, NotFound
from moderation.webhooks import signing
from moderation.webhooks.dispatch import envelope, wake_after_commit
from moderation.webhooks.listening import refresh_listened_events
from moderation.webhooks.models import EVENT_TYPES, TEST_EVENT_TYPE, Delivery, DeliveryAttempt, WebhookEndpoint
from moderation.webhooks.ssrf import UnsafeUrl, split_url

MAX_URL = 2048


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > MAX_URL:
        raise FieldErrors({"url": [f"too_long|{MAX_URL}"]})
    try:
        split_url(url)
    except UnsafeUrl as error:
        raise FieldErrors({"url": ["url_scheme"]}) from error
    return url


def _check_event_types(event_types) -> list[str]:
    chosen = list(EVENT_TYPES) if event_types is None else list(dict.fromkeys(event_types))
    if not chosen or any(event_type not in EVENT_TYPES for event_type in chosen):
        raise FieldErrors({"event_types": ["invalid"]})
    return chosen


def _detached(session: Session, rows) -> list:
    """Loaded rows outlive the read transaction (its rollback would expire them)."""
    rows = list(rows)
    for row in rows:
        session.expunge(row)
    return rows


def _endpoint(session: Session, endpoint_id: int, site_id: int | None) -> WebhookEndpoint:
    """site_id None is the console's view (every site); the API always passes the caller's site."""
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 1 <= endpoint_id <= MAX_ID else None
    if endpoint is None or (site_id is not None and endpoint.site_id != site_id):
        raise NotFound("no such webhook endpoint", endpoint_id=endpoint_id)
    return endpoint


def add_endpoint(session: Session, site_id: int, url: str, *, event_types=None, active: bool = True,
                 include_author_email: bool = False, now: dt.datetime) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; the returned secret is shown once (it is never listed again)."""
    url, event_types = _check_url(url), _check_event_types(event_types)
    secret = signing.generate_secret()
    with transaction(session):
        if session.get(Site, site_id) is None:
            raise NotFound("no such site", site_id=site_id)
        endpoint = WebhookEndpoint(site_id=site_id, url=url, event_types=event_types, active=active,
                                   include_author_email=include_author_email, secret=secret,
                                   created_at=now, updated_at=now)
        session.add(endpoint)
        refresh_listened_events(session, site_id)
    return endpoint, secret


def update_endpoint(session: Session, endpoint_id: int, *, site_id: int | None, now: dt.datetime,
                    **changes) -> WebhookEndpoint:
    """Change url, event_types, active or include_author_email; re-activating clears the disabled reason."""
    if "url" in changes:
        changes["url"] = _check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _check_event_types(changes["event_types"])
    with transaction(session):
        endpoint = _endpoint(session, endpoint_id, site_id)
        for name in ("url", "event_types", "active", "include_author_email"):
            if name in changes:
                setattr(endpoint, name, changes[name])
        if changes.get("active"):
            endpoint.disabled_reason = None
            wake_after_commit(session)  # its parked deliveries are claimable again
        endpoint.updated_at = now
        if "active" in changes or "event_types" in changes:
            refresh_listened_events(session, endpoint.site_id)
    return endpoint


def rotate_secret(session: Session, endpoint_id: int, *, site_id: int | None, now: dt.datetime,
                  grace: dt.timedelta) -> tuple[WebhookEndpoint, str]:
    """New secret now; the old one keeps signing alongside it until the grace period ends."""
    secret = signing.generate_secret()
    with transaction(session):
        endpoint = _endpoint(session, endpoint_id, site_id)
        endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, now + grace
        endpoint.secret, endpoint.updated_at = secret, now
    return endpoint, secret


def list_endpoints(session: Session, site_id: int | None = None) -> list[WebhookEndpoint]:
    with reading(session):
        query = sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)
        if site_id is not None:
            query = query.where(WebhookEndpoint.site_id == site_id)
        return _detached(session, session.scalars(query))


def get_endpoint(session: Session, endpoint_id: int, site_id: int | None = None) -> WebhookEndpoint:
    with reading(session):
        return _detached(session, [_endpoint(session, endpoint_id, site_id)])[0]


def list_deliveries(session: Session, endpoint_id: int, *, site_id: int | None = None, status: str | None = None,
                    limit: int = 50, before_id: int | None = None) -> list[Delivery]:
    """Newest first: status, attempts, last response code, latency and body excerpt for the console."""
    with reading(session):
        _endpoint(session, endpoint_id, site_id)
        query = sa.select(Delivery).where(Delivery.endpoint_id == endpoint_id).order_by(Delivery.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Delivery.status == status)
        if before_id is not None:
            query = query.where(Delivery.id < before_id)
        return _detached(session, session.scalars(query))


def list_attempts(session: Session, delivery_id: int, *, site_id: int | None = None) -> list[DeliveryAttempt]:
    with reading(session):
        delivery = _delivery(session, delivery_id, site_id)
        return _detached(session, session.scalars(sa.select(DeliveryAttempt)
                                                  .where(DeliveryAttempt.delivery_id == delivery.id)
                                                  .order_by(DeliveryAttempt.id)))


def _delivery(session: Session, delivery_id: int, site_id: int | None) -> Delivery:
    delivery = session.get(Delivery, delivery_id) if 1 <= delivery_id <= MAX_ID else None
    if delivery is None or (site_id is not None and delivery.endpoint.site_id != site_id):
        raise NotFound("no such delivery", delivery_id=delivery_id)
    return delivery


def _requeue(delivery: Delivery, now: dt.datetime) -> None:
    # A fresh schedule: after an outage is fixed, a redelivered event deserves the full retry window.
    delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.updated_at = "pending", 0, now, now
    delivery.locked_by = delivery.locked_until = None


def redeliver(session: Session, delivery_id: int, *, site_id: int | None = None, now: dt.datetime) -> Delivery:
    """Send one delivery again (same webhook-id); one being attempted right now is left alone."""
    with transaction(session):
        delivery = _delivery(session, delivery_id, site_id)
        if delivery.status != "delivering":
            _requeue(delivery, now)
    return delivery


def redeliver_failed(session: Session, endpoint_id: int, since: dt.datetime, until: dt.datetime, *,
                     site_id: int | None = None, now: dt.datetime) -> int:
    """Requeue every failed delivery of an endpoint whose event happened in [since, until)."""
    with transaction(session):
        _endpoint(session, endpoint_id, site_id)
        failed = session.scalars(sa.select(Delivery).join(OutboxEvent, OutboxEvent.id == Delivery.event_id).where(
            Delivery.endpoint_id == endpoint_id, Delivery.status == "failed",
            OutboxEvent.created_at >= since, OutboxEvent.created_at < until)).all()
        for delivery in failed:
            _requeue(delivery, now)
        return len(failed)


def send_test_event(session: Session, endpoint_id: int, *, site_id: int | None = None, now: dt.datetime) -> Delivery:
    """A `webhook.test` event for this endpoint only, whatever its event types (sent once it is active)."""
    with transaction(session):
        endpoint = _endpoint(session, endpoint_id, site_id)
        data = {"endpoint_id": endpoint.id, "message": "Test event from the moderation service"}
        event = OutboxEvent(site_id=endpoint.site_id, type=TEST_EVENT_TYPE, comment_id=None, payload=data,
                            created_at=now, dispatched_at=now)  # already dispatched: no other endpoint gets it
        session.add(event)
        session.flush()
        delivery = Delivery(event_id=event.id, endpoint_id=endpoint.id, body=envelope(TEST_EVENT_TYPE, now, data),
                            status="pending", next_attempt_at=now, created_at=now, updated_at=now)
        session.add(delivery)
    return delivery
