"""Events no endpoint listens for are written already dispatched; the site's listened events follow its endpoints."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from moderation.core.models import OutboxEvent, Site
from moderation.extensions import db
from moderation.webhooks import dispatch, endpoints
from moderation.webhooks.models import Delivery
from tests.conftest import site_auth, valid_comment
from tests.webhooks.conftest import LOOPBACK, add_endpoint, make_comment

HOOK = "http://127.0.0.1:9/hook"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _listened(app, site) -> list[str]:
    with app.app_context():
        listened = db.session.scalar(sa.select(Site.listened_events).where(Site.id == site.id))
        db.session.rollback()
        return listened


def test_the_sites_listened_events_follow_its_active_endpoints(hook_app, site):
    assert _listened(hook_app, site) == []
    first, _secret = add_endpoint(hook_app, site, HOOK, event_types=["comment.approved"])
    add_endpoint(hook_app, site, HOOK, event_types=["comment.spam"], active=False)  # an inactive one hears nothing
    assert _listened(hook_app, site) == ["comment.approved"]
    with hook_app.app_context():
        endpoints.update_endpoint(db.session, first.id, site_id=site.id, now=_now(),
                                  event_types=["comment.received", "comment.rejected"])
    assert _listened(hook_app, site) == ["comment.received", "comment.rejected"]
    with hook_app.app_context():
        endpoints.update_endpoint(db.session, first.id, site_id=site.id, now=_now(), active=False)
    assert _listened(hook_app, site) == []
    with hook_app.app_context():
        endpoints.update_endpoint(db.session, first.id, site_id=None, now=_now(), active=True)
    assert _listened(hook_app, site) == ["comment.received", "comment.rejected"]
    add_endpoint(hook_app, site, HOOK)  # every type
    assert set(_listened(hook_app, site)) == {"comment.received", "comment.approved", "comment.rejected",
                                              "comment.spam", "comment.reply_published", "comment.reported",
                                              "comment.restored"}


def _event_of(app, comment_id: int) -> OutboxEvent:
    with app.app_context():
        event = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.comment_id == comment_id)).one()
        db.session.expunge(event)
        return event


def test_intake_writes_an_event_nobody_listens_for_dispatched_and_one_that_is_listened_for_waiting(writer_app):
    app = writer_app(WEBHOOK_ALLOWED_NETWORKS=LOOPBACK)
    site, auth = site_auth(app)
    client = app.test_client()

    def post(n: int) -> OutboxEvent:
        response = client.post("/api/v1/comments", headers=auth,
                               json=valid_comment(author_email=f"l{n}@example.org", content=f"Avis {n}"))
        assert response.status_code == 202, response.get_json()
        return _event_of(app, response.get_json()["id"])

    def fan_out() -> int:
        with app.app_context():
            return dispatch.fan_out(db.session, _now())

    unheard = post(0)
    assert unheard.dispatched_at == unheard.created_at  # kept in the outbox, but nothing to relay
    assert fan_out() == 0

    add_endpoint(app, site, HOOK, event_types=["comment.approved"])
    other_type = post(1)
    assert other_type.dispatched_at == other_type.created_at
    _comment_id, approved_id = make_comment(app, site, event_type="comment.approved")  # a moderator's decision
    with app.app_context():
        assert db.session.get(OutboxEvent, approved_id).dispatched_at is None

    add_endpoint(app, site, HOOK, event_types=["comment.received"])
    heard = post(2)
    assert heard.dispatched_at is None
    assert fan_out() == 2  # the approval and the received comment, each to its endpoint
    with app.app_context():
        sent = sorted(db.session.scalars(sa.select(Delivery.event_id)))
    assert sent == sorted([approved_id, heard.id])


def test_the_relay_finds_waiting_events_through_their_partial_index(hook_app, site):
    """Migration o001: only waiting events are in ix_outbox_events_undispatched, and the relay reads it."""
    from tests.core.test_index_use import _statement_plan, _uses

    with hook_app.app_context():
        plan = _statement_plan(dispatch._pick_events(200))
        assert _uses("ix_outbox_events_undispatched", plan), plan
        engine = db.engine
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                definition = connection.scalar(sa.text(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_outbox_events_undispatched'"))
            else:
                definition = connection.scalar(sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_outbox_events_undispatched'"))
        assert "dispatched_at IS NULL" in definition
