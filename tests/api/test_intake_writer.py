"""Group commit: one writer thread stores the comments of concurrent requests, each answered as if alone."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from moderation.core.models import Comment, Decision, OutboxEvent
from moderation.extensions import db
from moderation.intake_writer import current_writer
from tests.conftest import PG_URL, count_rows, post_together, site_auth, valid_comment


def test_concurrent_comments_each_get_their_own_answer(writer_app):
    app = writer_app()
    _site, auth = site_auth(app)
    distinct = [valid_comment(author_email=f"r{n}@example.org", author_ip=f"203.0.113.{n}", content=f"Avis {n}")
                for n in range(12)]
    twin = valid_comment(author_email="twin@example.org", author_ip="198.51.100.1", content="Deux fois")
    responses = post_together(app, auth, distinct + [twin, twin])
    codes = [r.status_code for r in responses]
    assert codes[:12] == [202] * 12
    assert sorted(codes[12:]) == [202, 409]  # the same comment twice, maybe in one batch: one kept, one duplicate
    duplicate = next(r for r in responses if r.status_code == 409)
    assert duplicate.mimetype == "application/problem+json"
    ids = {r.get_json()["id"] for r in responses if r.status_code == 202}
    assert len(ids) == 13 == count_rows(app, Comment) == count_rows(app, Decision) == count_rows(app, OutboxEvent)
    with app.app_context():
        stored = db.session.get(Comment, responses[3].get_json()["id"])
        assert (stored.content, stored.author_email) == ("Avis 3", "r3@example.org")


def test_a_flood_inside_one_batch_is_caught(writer_app):
    app = writer_app(FLOOD_INTERVAL_SECONDS=15)
    _site, auth = site_auth(app)
    flooder = [valid_comment(author_email="vite@example.org", author_ip="198.51.100.2", content=f"Encore {n}")
               for n in range(4)]
    codes = sorted(r.status_code for r in post_together(app, auth, flooder))
    assert codes == [202, 429, 429, 429]
    assert count_rows(app, Comment) == 1


def test_one_failing_comment_does_not_fail_the_others_of_its_batch(writer_app, monkeypatch):
    from moderation.core import rules

    real_evaluate = rules.evaluate

    def evaluate(session, site, data):
        if data["content"] == "poison":
            raise RuntimeError("bug on one input")
        return real_evaluate(session, site, data)

    monkeypatch.setattr(rules, "evaluate", evaluate)
    app = writer_app()
    _site, auth = site_auth(app)
    bodies = [valid_comment(author_email=f"p{n}@example.org", content=f"Sain {n}") for n in range(7)]
    bodies.insert(3, valid_comment(author_email="x@example.org", content="poison"))
    codes = [r.status_code for r in post_together(app, auth, bodies)]
    assert codes == [202, 202, 202, 500, 202, 202, 202, 202]
    assert count_rows(app, Comment) == 7


def test_database_unavailable_is_503_through_the_writer_and_nothing_accepted_is_lost(writer_app, tmp_path):
    import sqlite3

    if PG_URL:
        app = writer_app()
        _site, auth = site_auth(app)
        assert app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth).status_code == 202
        down = writer_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test")
        response = down.test_client().post("/api/v1/comments", json=valid_comment(content="perdu ?"), headers=auth)
    else:
        app = writer_app(DB_BUSY_TIMEOUT_MS=100)
        _site, auth = site_auth(app)
        assert app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth).status_code == 202
        blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            response = app.test_client().post("/api/v1/comments", json=valid_comment(content="perdu ?"), headers=auth)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert count_rows(app, Comment) == 1
    again = app.test_client().post("/api/v1/comments", json=valid_comment(content="perdu ?"), headers=auth)
    assert again.status_code == 202  # the writer carries on after the outage
    assert count_rows(app, Comment) == 2


def test_a_connection_lost_while_the_writer_was_idle_is_replaced_before_the_next_comment(writer_app, monkeypatch):
    from moderation import intake_writer

    app = writer_app()
    _site, auth = site_auth(app)
    client = app.test_client()
    assert client.post("/api/v1/comments", json=valid_comment(), headers=auth).status_code == 202
    held = current_writer(app).held
    lost = held.connection
    lost.connection.dbapi_connection.close()  # as when the database restarts or a proxy drops idle links
    monkeypatch.setattr(intake_writer._HeldSession, "IDLE_PING_SECONDS", 0.0)
    response = client.post("/api/v1/comments", json=valid_comment(content="après la coupure"), headers=auth)
    assert response.status_code == 202  # the ping found it dead: a fresh connection wrote the comment
    assert held.connection is not lost and count_rows(app, Comment) == 2


def test_stopping_the_writer_writes_what_was_queued_then_intake_writes_directly(writer_app):
    app = writer_app()
    _site, auth = site_auth(app)
    assert app.test_client().get("/readyz").get_json()["checks"]["intake_writer"] == "thread"
    current_writer(app).stop()
    assert current_writer(app) is None
    response = app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth)
    assert response.status_code == 202 and count_rows(app, Comment) == 1


def test_a_comment_queued_behind_the_stop_marker_is_written_and_later_ones_are_refused_to_the_writer(make_app):
    import datetime as dt
    import time

    from moderation.core.sites import create_site
    from moderation.core.submissions import WriterClosed, prepare
    from moderation.intake_writer import _STOP, IntakeWriter

    app = make_app()
    settings = app.extensions["moderation.intake_settings"]
    with app.app_context():
        site, _key = create_site(db.session, "Arrêt")
        now = dt.datetime.now(dt.timezone.utc)
        late, later = (prepare(site, dict(valid_comment(content=text), author_ip=None), scorer=None,
                               settings=settings, now=now) for text in ("juste à temps", "trop tard"))
    writer = IntakeWriter(app, settings)
    writer.queue.put(_STOP)  # stop() was called ...
    answers = []
    sender = threading.Thread(target=lambda: answers.append(writer(late)), daemon=True)
    sender.start()  # ... and this request had already checked that the writer was running
    deadline = time.monotonic() + 10
    while writer.queue.qsize() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.start()
    sender.join(10)
    writer.thread.join(10)
    assert not sender.is_alive() and answers and answers[0].id is not None  # answered, not left waiting
    assert count_rows(app, Comment) == 1
    with pytest.raises(WriterClosed):  # nothing is queued where nobody looks any more
        writer(later)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: SQLite's statistics are refreshed by `serve` at start")
def test_on_postgresql_the_writer_gives_a_young_comments_table_planner_statistics(make_app):
    import time

    from moderation.intake_writer import IntakeWriter

    app = make_app()
    writer = IntakeWriter(app, app.extensions["moderation.intake_settings"], analyze_after=5).start()
    app.extensions["moderation.intake_writer"] = writer
    _site, auth = site_auth(app)

    def reltuples():
        with app.app_context():
            value = db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'comments'::regclass"))
            db.session.rollback()
            return value

    try:
        assert reltuples() < 1  # truncated: the planner knows nothing of the rows to come
        for n in range(6):
            response = app.test_client().post("/api/v1/comments", json=valid_comment(content=f"n° {n}"), headers=auth)
            assert response.status_code == 202
        deadline = time.monotonic() + 10
        while reltuples() < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reltuples() >= 5  # ANALYZE ran once the table had grown past the threshold
    finally:
        writer.stop()
