"""SQLite's intake batch: one INSERT through the TEMP view after a look-up at most once a second, storing what the ordinary path stores."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
import sqlalchemy as sa

from moderation.api.schemas import CommentIn
from moderation.core import intake_writes, outbox, sqlite_intake
from moderation.core.idempotency import fingerprint
from moderation.core.intake_writes import AcceptedComment, write_batch
from moderation.errors import FloodDetected
from moderation.core.models import Comment, Decision, IdempotencyKey, OutboxEvent, Site
from moderation.core.submissions import IdempotentResponse, prepare
from tests.conftest import NOW, PG_URL, FakeScorer, valid_comment

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own write path; PostgreSQL's is postgres_intake")
FLOOD = dt.timedelta(seconds=15)


def _submission(app, site, n: int, key: str | None = None, **changes):
    body = valid_comment(**{"author_email": f"r{n}@example.org", "author_ip": f"203.0.113.{n}",
                            "content": f"Avis n°{n} مرحبا", **changes})
    idempotent = None if key is None else IdempotentResponse(
        key, fingerprint(body), dt.timedelta(hours=24), lambda c: (202, json.dumps({"id": c.id})))
    return prepare(site, CommentIn().load(body), scorer=FakeScorer(spam=0.3, abuse=0.2),
                   settings=app.extensions["moderation.intake_settings"], now=NOW + dt.timedelta(seconds=n),
                   idempotent=idempotent)


def _traced(session) -> list[str]:
    """The statements SQLite runs on the session's connection from now on, by their first words.

    SQLite reports a statement again for each step of its trigger: repeats in a row are one."""
    statements: list[str] = []

    def note(sql: str) -> None:
        words = " ".join(sql.split()[:3]).upper()
        if not sql.startswith("--") and (not statements or statements[-1] != words):
            statements.append(words)

    session.connection().connection.dbapi_connection.set_trace_callback(note)
    return statements


LOOK_UP = "SELECT COMMENTS.SITE_ID, COMMENTS.AUTHOR_EMAIL,"
INSERT = "INSERT INTO MODERATION_INTAKE_ROWS"


def test_a_batch_is_one_look_up_and_one_insert_with_no_begin_or_commit(app, session, site, monkeypatch):
    monkeypatch.setattr(sqlite_intake, "HELD_SECONDS", 0.0)  # what a look-up reads is too old at once
    write_batch(session, [_submission(app, site, 9)], FLOOD)  # the site's rules are read once, then cached
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, n) for n in range(3)], FLOOD)
    assert all(isinstance(result, AcceptedComment) for result in results)
    # Nor is the view made again: the connection remembers it.
    assert statements == [LOOK_UP, INSERT]
    assert [r.id for r in results] == sorted(r.id for r in results)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 4


def test_within_a_second_of_a_look_up_a_batch_is_one_insert(app, session, site):
    statements = _traced(session)
    first = write_batch(session, [_submission(app, site, 9)], FLOOD)
    later = write_batch(session, [_submission(app, site, n) for n in range(3)], FLOOD)
    assert statements[-1] == INSERT and statements.count(LOOK_UP) == 1
    ids = [r.id for r in first + later]
    assert ids == list(range(ids[0], ids[0] + 4))  # drawn from what the look-up read, in arrival order
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 4


def _written_elsewhere(session, site, **values) -> int:
    """A comment committed by another connection (another server process); its id."""
    other = sa.create_engine(session.get_bind().url)
    try:
        with other.begin() as connection:
            return connection.execute(sa.insert(Comment.__table__).values(
                site_id=site.id, article_id="ailleurs", author_name="Ailleurs", content="Écrit ailleurs",
                content_hash=f"h-{values.get('author_email', 'x')}", status="pending", version=1, risk=0.5,
                reasons=[], **{"author_email": "ailleurs@example.org", "created_at": NOW, "updated_at": NOW, **values})
            ).inserted_primary_key[0]
    finally:
        other.dispose()


def test_ids_taken_by_another_process_meanwhile_are_drawn_again(app, session, site):
    write_batch(session, [_submission(app, site, 9)], FLOOD)
    theirs = _written_elsewhere(session, site)
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, n) for n in range(2)], FLOOD)
    assert all(isinstance(result, AcceptedComment) for result in results)
    assert theirs < results[0].id < results[1].id  # after theirs, not beside it
    assert statements.count(LOOK_UP) == 1  # the trigger refused the held ids; a look-up drew new ones
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 4


def test_a_flood_against_a_comment_of_an_earlier_batch_is_refused_without_a_look_up_first(app, session, site):
    (earlier,) = write_batch(session, [_submission(app, site, 1)], FLOOD)  # r1, at NOW + 1 s
    statements = _traced(session)
    again = _submission(app, site, 3, author_email="r1@example.org", content="Encore moi")  # at NOW + 3 s
    results = write_batch(session, [_submission(app, site, 2), again], FLOOD)
    assert [type(result) for result in results] == [AcceptedComment, FloodDetected]
    assert results[1].retry_after == 13  # 15 s after r1's first comment
    # The INSERT refused by the trigger, then the look-up that refuses r1 with its Retry-After.
    assert [s for s in statements if s in (INSERT, LOOK_UP)] == [INSERT, LOOK_UP, INSERT]
    session.rollback()
    emails = session.scalars(sa.select(Comment.author_email).order_by(Comment.id)).all()
    assert emails == ["r1@example.org", "r2@example.org"] and earlier.id == 1


def test_a_flood_by_ip_against_an_earlier_batch_is_refused_by_the_trigger_too(app, session, site):
    write_batch(session, [_submission(app, site, 2)], FLOOD)  # from 203.0.113.2
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, 0), _submission(app, site, 5, author_ip="203.0.113.2")],
                          FLOOD)
    assert [type(result) for result in results] == [AcceptedComment, FloodDetected]
    assert [s for s in statements if s in (INSERT, LOOK_UP)] == [INSERT, LOOK_UP, INSERT]


def test_a_flood_against_a_comment_another_process_stored_is_refused(app, session, site):
    write_batch(session, [_submission(app, site, 9)], FLOOD)
    _written_elsewhere(session, site, author_email="r1@example.org", created_at=NOW - dt.timedelta(seconds=1))
    results = write_batch(session, [_submission(app, site, n) for n in range(3)], FLOOD)
    assert [type(result) for result in results] == [AcceptedComment, FloodDetected, AcceptedComment]
    assert results[1].retry_after == 13  # 15 s after the stored one, from r1's time (NOW + 1 s)


def _listen_elsewhere(session, site, event_types: list[str]) -> None:
    """Another process registered an endpoint: the site's listened events change under the writer."""
    other = sa.create_engine(session.get_bind().url)
    try:
        with other.begin() as connection:
            connection.execute(sa.update(Site).where(Site.id == site.id).values(listened_events=event_types))
    finally:
        other.dispose()


def test_the_trigger_reads_who_listens_when_the_held_events_are_out_of_date(app, session, site):
    write_batch(session, [_submission(app, site, 9)], FLOOD)  # held: nobody listens
    _listen_elsewhere(session, site, ["comment.received"])
    (comment,) = write_batch(session, [_submission(app, site, 1)], FLOOD)
    _listen_elsewhere(session, site, ["comment.approved"])
    (unheard,) = write_batch(session, [_submission(app, site, 2)], FLOOD)
    session.rollback()
    waiting = dict(session.execute(sa.select(OutboxEvent.comment_id, OutboxEvent.dispatched_at)).all())
    assert waiting[comment.id] is None  # left for the relay
    assert waiting[unheard.id] is not None  # nobody listens for comment.received any more
    assert len(waiting) == 3


def test_a_change_of_listened_events_in_this_process_is_looked_up_for_the_next_batch(app, session, site):
    write_batch(session, [_submission(app, site, 9)], FLOOD)
    outbox.note_listened_change()
    statements = _traced(session)
    write_batch(session, [_submission(app, site, 1)], FLOOD)
    assert statements == [LOOK_UP, INSERT]


def test_rows_written_through_the_view_equal_those_of_the_ordinary_path(app, session, site):
    # The same authors and texts on two articles (no flood interval, so both are accepted).
    one = write_batch(session, [_submission(app, site, n, article_id="a-view") for n in range(2)], dt.timedelta(0))
    other = intake_writes._write_batch(session, [_submission(app, site, n, article_id="a-plain") for n in range(2)],
                                       dt.timedelta(0), chained=False)
    assert all(isinstance(result, AcceptedComment) for result in one + other)
    session.expire_all()

    def stored(comment_id: int) -> tuple:
        comment = session.get(Comment, comment_id)
        columns = {c: getattr(comment, c) for c in intake_writes._COMMENT_COLUMNS if c != "article_id"}
        decisions = [{c: getattr(d, c) for c in intake_writes._DECISION_COLUMNS if c != "comment_id"}
                     for d in session.scalars(sa.select(Decision).where(Decision.comment_id == comment_id))]
        (event,) = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.comment_id == comment_id))
        payload = {**event.payload, "comment": {**event.payload["comment"], "id": None, "article_id": None}}
        assert event.payload["comment"]["id"] == comment_id
        return columns, decisions, (event.type, event.site_id, payload, event.created_at, event.dispatched_at)

    for through_view, plain in zip(one, other):
        assert stored(through_view.id) == stored(plain.id)
    assert stored(one[0].id)[0]["spam_score"] == 0.3 and stored(one[0].id)[0]["content"] == "Avis n°0 مرحبا"


def test_keys_are_stored_with_their_comments_in_one_transaction(app, session, site):
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, 0, key="k-0"), _submission(app, site, 1)], FLOOD)
    assert all(isinstance(result, AcceptedComment) for result in results)
    writes = [s for s in statements if not s.startswith(("SELECT", "CREATE", "DROP"))]
    assert writes == ["BEGIN", "INSERT INTO MODERATION_INTAKE_ROWS", "INSERT INTO IDEMPOTENCY_KEYS", "COMMIT"]
    session.rollback()
    stored = session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.key == "k-0"))
    assert json.loads(stored.response_body) == {"id": results[0].id}


def test_a_batch_over_the_variable_limit_is_split_inside_one_transaction(app, session, site, monkeypatch):
    dbapi_connection = session.connection().connection.dbapi_connection
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 60)  # a view row has 48: one row per statement
    executed = []
    real_execute = sqlite_intake.SpreadInserts._execute
    monkeypatch.setattr(sqlite_intake.SpreadInserts, "_execute", staticmethod(
        lambda connection, sql, parameters, alone: executed.append(alone) or real_execute(
            connection, sql, parameters, alone)))
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, n) for n in range(3)], FLOOD)
    assert all(isinstance(result, AcceptedComment) for result in results)
    assert executed == [False, False, False]  # a row per statement, none committing on its own
    writes = [s for s in statements if not s.startswith(("SELECT", "CREATE", "DROP"))]
    assert writes[0] == "BEGIN" and writes[-1] == "COMMIT"
    session.rollback()
    for model in (Comment, Decision, OutboxEvent):
        assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 3


def _open_write(session, site) -> None:
    """A write of the caller's, not yet committed, on the session's connection."""
    session.execute(sa.update(Site).where(Site.id == site.id).values(link_limit=7))
    assert session.connection().connection.dbapi_connection.in_transaction


def test_a_batch_joins_a_transaction_already_open_instead_of_committing_it_early(app, session, site):
    write_batch(session, [_submission(app, site, 9)], FLOOD)
    _open_write(session, site)
    statements = _traced(session)
    results = write_batch(session, [_submission(app, site, n) for n in range(2)], FLOOD)
    assert all(isinstance(result, AcceptedComment) for result in results)
    assert [s for s in statements if not s.startswith("SELECT")] == ["INSERT INTO MODERATION_INTAKE_ROWS", "COMMIT"]


def test_a_view_made_in_a_transaction_that_is_rolled_back_is_made_again(app, session, site, monkeypatch):
    _open_write(session, site)  # so the view is first made inside this transaction
    real_written = outbox.written
    failures = [RuntimeError("after the INSERT")]

    def fail_once(session_, rows):
        if failures:
            raise failures.pop()
        real_written(session_, rows)

    monkeypatch.setattr(outbox, "written", fail_once)
    with pytest.raises(RuntimeError):
        write_batch(session, [_submission(app, site, 0)], FLOOD)
    session.rollback()
    (comment,) = write_batch(session, [_submission(app, site, 1)], FLOOD)
    assert isinstance(comment, AcceptedComment)
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 1
