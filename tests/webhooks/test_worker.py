"""The threaded worker: woken by commits, leases that expire, exclusive claims, database outages."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from moderation.extensions import db
from moderation.webhooks import dispatch
from moderation.webhooks.delivery import Outcome
from moderation.webhooks.models import Delivery
from moderation.webhooks.worker import Worker
from tests.conftest import PG_URL
from tests.webhooks.conftest import add_endpoint, make_comment
from tests.webhooks.receiver import verify


@pytest.fixture
def running(hook_app):
    started = []

    def start(app=hook_app, **changes):
        settings = dataclasses.replace(app.extensions["moderation.webhooks.settings"], **changes)
        worker = Worker(app, settings).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_a_commit_wakes_the_worker_within_a_second(hook_app, site, receiver, running):
    endpoint, secret = add_endpoint(hook_app, site, receiver.url())
    running(poll_seconds=30, concurrency=2)  # polling alone would take 30 s
    time.sleep(0.3)  # let the threads go idle
    for i in range(3):
        committed = time.monotonic()
        _comment, event_id = make_comment(hook_app, site, email=f"w{i}@example.org")
        assert receiver.wait_for(i + 1, timeout=1.0), "not delivered within a second of the commit"
        assert receiver.requests[i].at - committed < 1.0
        assert receiver.requests[i].msg_id == event_id
        verify(receiver.requests[i], secret)


def test_a_comment_posted_to_the_api_is_delivered_within_a_second(hook_app, receiver, running):
    from moderation.core.sites import create_site
    from tests.conftest import valid_comment

    with hook_app.app_context():
        site, key = create_site(db.session, "Intake")
    _endpoint, secret = add_endpoint(hook_app, site, receiver.url(), include_author_email=True)
    running(poll_seconds=30)
    time.sleep(0.3)
    posted = time.monotonic()
    answer = hook_app.test_client().post("/api/v1/comments", json=valid_comment(),
                                         headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 202
    assert receiver.wait_for(1, timeout=1.0)
    assert receiver.requests[0].at - posted < 1.0
    payload = verify(receiver.requests[0], secret)
    assert payload["type"] == "comment.received"
    assert payload["data"]["comment"]["id"] == answer.get_json()["id"]
    assert payload["data"]["comment"]["status"] == answer.get_json()["status"]
    assert payload["data"]["comment"]["author_email"] == valid_comment()["author_email"]


def test_serve_style_config_starts_the_worker(make_app, receiver):
    from moderation.core.sites import create_site

    app = make_app(WEBHOOK_WORKER=True, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_POLL_SECONDS=0.2)
    worker = app.extensions["moderation.webhooks.worker"]
    try:
        assert len(worker.threads) == 1 and all(t.is_alive() for t in worker.threads)  # one in flight by default
        with app.app_context():
            site, _key = create_site(db.session, "Auto")
        add_endpoint(app, site, receiver.url())
        make_comment(app, site)
        assert receiver.wait_for(1, timeout=5)
    finally:
        worker.stop()
    assert not any(t.is_alive() for t in worker.threads)


def _queue(app, site, receiver, count: int) -> None:
    add_endpoint(app, site, receiver.url())
    for i in range(count):
        make_comment(app, site, email=f"q{i}@example.org")
    with app.app_context():
        dispatch.fan_out(db.session, dt.datetime.now(dt.timezone.utc))


def test_an_expired_lease_is_taken_over_and_a_late_success_still_counts(hook_app, site, receiver):
    _queue(hook_app, site, receiver, 1)
    settings = hook_app.extensions["moderation.webhooks.settings"]
    now = dt.datetime.now(dt.timezone.utc)
    with hook_app.app_context():
        [first] = dispatch.claim(db.session, "a", now, 60)
        assert dispatch.claim(db.session, "b", now + dt.timedelta(seconds=59), 60) == []
        [second] = dispatch.claim(db.session, "b", now + dt.timedelta(seconds=61), 60)
        assert (first.delivery_id, first.attempts, second.attempts) == (second.delivery_id, 1, 2)
        # "a" comes back from a long pause with a failure: "b" holds the lease, nothing changes.
        dispatch.record_result(db.session, first, Outcome(500, None, 5), "a", now, settings)
        assert db.session.get(Delivery, first.delivery_id).status == "delivering"
        db.session.rollback()
        # ...but had it succeeded, the delivery is done whoever holds the lease.
        dispatch.record_result(db.session, first, Outcome(200, None, 5), "a", now, settings)
        assert db.session.get(Delivery, first.delivery_id).status == "delivered"


def test_concurrent_claims_never_hand_out_the_same_delivery(hook_app, site, receiver):
    _queue(hook_app, site, receiver, 40)
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer(name):
        try:
            with hook_app.app_context():
                while jobs := dispatch.claim(db.session, name, dt.datetime.now(dt.timezone.utc), 60, limit=3):
                    with lock:
                        claimed.extend(job.delivery_id for job in jobs)
                db.session.remove()
        except BaseException as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(claimed) == 40 and len(set(claimed)) == 40


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: its server connections are cut under the worker")
def test_worker_recovers_when_postgresql_drops_its_connections(hook_app, site, receiver, running):
    from tests.webhooks.receiver import Answer

    # Slow answers keep the worker mid-delivery (its claim committed, its result not yet) when the cut comes.
    receiver.answer = lambda _request: Answer(200, delay=0.15)
    add_endpoint(hook_app, site, receiver.url())
    running(poll_seconds=0.2, concurrency=2)
    expected = {make_comment(hook_app, site, email=f"p{i}@example.org")[1] for i in range(20)}
    assert receiver.wait_for(2, timeout=5)
    engine = sa.create_engine(PG_URL)
    killed = 0
    for _cut in range(3):
        with engine.connect() as connection:
            # What a server restart does to its clients: every other backend is terminated.
            killed += connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        time.sleep(0.3)
    engine.dispose()
    assert killed >= 3
    expected |= {make_comment(hook_app, site, email=f"s{i}@example.org")[1] for i in range(5)}

    def statuses() -> dict:
        with hook_app.app_context():
            return dict(db.session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())

    deadline = time.monotonic() + 20
    # A result whose recording was cut is retried by the worker: wait for the database too, not just the receiver.
    while (not expected <= set(receiver.ids()) or statuses() != {"delivered": 25}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(receiver.ids()) == expected
    assert statuses() == {"delivered": 25}


def test_events_nobody_listens_to_are_written_handled_and_those_left_waiting_are_marked_without_deliveries(
        hook_app, site):
    from moderation.core.models import OutboxEvent
    from moderation.webhooks import endpoints

    def waiting() -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)
                                 .where(OutboxEvent.dispatched_at.is_(None)))

    for n in range(3):
        make_comment(hook_app, site, email=f"n{n}@example.org")
    with hook_app.app_context():
        assert waiting() == 0  # no endpoint: written dispatched, the relay has nothing to do
        assert dispatch.fan_out(db.session, dt.datetime.now(dt.timezone.utc)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 3  # but kept
    endpoint, _secret = add_endpoint(hook_app, site, "http://127.0.0.1:9/hook")
    for n in range(2):
        make_comment(hook_app, site, email=f"l{n}@example.org")
    with hook_app.app_context():
        assert waiting() == 2
        # The endpoint is turned off before the relay runs: the waiting events are marked handled.
        endpoints.update_endpoint(db.session, endpoint.id, site_id=None, now=dt.datetime.now(dt.timezone.utc),
                                  active=False)
        assert dispatch.fan_out(db.session, dt.datetime.now(dt.timezone.utc)) == 2
        assert waiting() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0


def test_a_burst_of_commits_is_fanned_out_in_few_transactions(hook_app, site, receiver, running, monkeypatch):
    """After a wake the worker waits MODERATION_WEBHOOK_COALESCE_MS, so commits landing meanwhile share a fan-out."""
    endpoint, _secret = add_endpoint(hook_app, site, receiver.url())
    calls = []
    real_fan_out = dispatch.fan_out

    def counting(session, now, *args, **kwargs):
        handled = real_fan_out(session, now, *args, **kwargs)
        if handled:
            calls.append(handled)
        return handled

    monkeypatch.setattr(dispatch, "fan_out", counting)
    running(poll_seconds=30, coalesce_seconds=0.3)
    time.sleep(0.2)
    from moderation.core import outbox
    from moderation.core.db import transaction
    from moderation.core.models import Comment

    with hook_app.app_context():
        for n in range(10):  # ten separate commits, each one waking the worker
            now = dt.datetime.now(dt.timezone.utc)
            with transaction(db.session):
                comment = Comment(site_id=site.id, article_id="a1", author_name="Amina", author_email=f"b{n}@example.org",
                                  content=f"Salut {n}", content_hash=f"burst{n}", created_at=now, updated_at=now)
                db.session.add(comment)
                db.session.flush()
                outbox.record(db.session, "comment.received", comment, now)
            time.sleep(0.01)
    deadline = time.monotonic() + 10
    while sum(calls) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(calls) == 10
    assert len(calls) <= 3, calls  # one per comment without coalescing
