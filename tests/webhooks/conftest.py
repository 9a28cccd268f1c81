"""Fixtures of the webhook tests: an app allowing loopback receivers, receivers, endpoints, events."""
from __future__ import annotations

import datetime as dt

import pytest

import moderation.webhooks.models  # noqa: F401  (PostgreSQL tests build the schema from the metadata)
from moderation.core import outbox
from moderation.core.db import transaction
from moderation.core.models import Comment, Site
from moderation.core.sites import create_site
from moderation.extensions import db
from moderation.webhooks import endpoints
from tests.webhooks.receiver import Receiver

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def hook_app(make_app):
    return make_app(WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, WEBHOOK_TIMEOUT_SECONDS=2, WEBHOOK_CONNECT_TIMEOUT_SECONDS=1)


@pytest.fixture
def receivers():
    started = []

    def start(port: int = 0, tls=None) -> Receiver:
        receiver = Receiver(port, tls)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers):
    return receivers()


@pytest.fixture
def site(hook_app):
    with hook_app.app_context():
        created, _key = create_site(db.session, "Le Quotidien")
    return created


def add_endpoint(app, site: Site, url: str, **options):
    with app.app_context():
        return endpoints.add_endpoint(db.session, site.id, url, now=options.pop("now", None) or _now(), **options)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_comment(app, site: Site, *, email: str = "amina@example.org", parent_id: int | None = None,
                 event_type: str = "comment.received", now: dt.datetime | None = None, **extra) -> tuple[int, str]:
    """A comment and its event, committed together as the use cases do; returns (comment id, event id)."""
    now = now or _now()
    with app.app_context():
        session = db.session
        with transaction(session):
            comment = Comment(site_id=site.id, article_id="a1", author_name="Amina", author_email=email,
                              content=f"Bravo {now.timestamp()} {email}", content_hash=f"{now.timestamp()}{email}"[:64],
                              parent_id=parent_id, created_at=now, updated_at=now)
            session.add(comment)
            session.flush()
            event = outbox.record(session, event_type, comment, now, **extra)
        return comment.id, _event_id(event)


def record_event(app, comment_id: int, event_type: str, now: dt.datetime | None = None, **extra) -> str:
    with app.app_context():
        session = db.session
        with transaction(session):
            event = outbox.record(session, event_type, session.get(Comment, comment_id), now or _now(), **extra)
        return _event_id(event)


def _event_id(recorded) -> str:
    # core.outbox.record returns the new event's id (older versions returned the row).
    return recorded if isinstance(recorded, str) else recorded.id
