"""write_batch(): a batch of submissions gets, in order, each comment or its refusal, on both databases."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from moderation.api.schemas import CommentIn
from moderation.core import outbox, postgres_intake, sqlite_intake
from moderation.core.intake_writes import AcceptedComment, write_batch
from moderation.core.models import Comment, Decision, OutboxEvent
from moderation.core.idempotency import KeysInBatch
from moderation.core.submissions import IdempotentResponse, prepare
from moderation.errors import DatabaseUnavailable, DuplicateComment, FloodDetected
from tests.conftest import NOW, valid_comment

FLOOD = dt.timedelta(seconds=15)


def _submission(app, site, seconds: int = 0, **changes):
    data = CommentIn().load(valid_comment(**changes))
    return prepare(site, data, scorer=None, settings=app.extensions["moderation.intake_settings"],
                   now=NOW + dt.timedelta(seconds=seconds))


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_batch_answers_each_submission_in_order_and_stores_only_the_accepted(app, session, site):
    stored = write_batch(session, [_submission(app, site, author_email="deja@example.org", content="Déjà dit")],
                         FLOOD)[0]
    assert isinstance(stored, AcceptedComment)
    batch = [
        _submission(app, site, 100, author_email="a@example.org", author_ip="198.51.100.1", content="Premier"),
        _submission(app, site, 100, author_email="deja@example.org", content="Déjà dit"),  # stored earlier
        _submission(app, site, 101, author_email="b@example.org", author_ip="198.51.100.2", content="Deux fois"),
        _submission(app, site, 101, author_email="c@example.org", author_ip="198.51.100.3",
                    content="<script>alert(1)</script> مرحبا"),
        _submission(app, site, 102, author_email="a@example.org", author_ip="198.51.100.9", content="Encore moi"),
    ]
    results = write_batch(session, batch, FLOOD)
    kinds = [type(result) for result in results]
    assert kinds == [AcceptedComment, DuplicateComment, AcceptedComment, AcceptedComment, FloodDetected]
    first, _, second, third, _ = results
    assert first.id > stored.id and first.id < second.id < third.id  # ids follow arrival
    assert session.get(Comment, third.id).content == "<script>alert(1)</script> مرحبا"
    assert _count(session, Comment) == _count(session, Decision) == _count(session, OutboxEvent) == 4
    events = session.execute(sa.select(OutboxEvent.comment_id, OutboxEvent.payload)).all()
    assert {comment_id for comment_id, _ in events} == {stored.id, first.id, second.id, third.id}
    assert all(payload["comment"]["id"] == comment_id for comment_id, payload in events)
    decided = session.scalars(sa.select(Decision.comment_id).where(Decision.action == "received")).all()
    assert sorted(decided) == [stored.id, first.id, second.id, third.id]


def test_twins_inside_one_batch_keep_the_first_and_refuse_the_second(app, session, site):
    twin = dict(author_email="twin@example.org", content="Deux fois la même chose")
    results = write_batch(session, [_submission(app, site, **twin), _submission(app, site, **twin),
                                    _submission(app, site, author_email="autre@example.org")], dt.timedelta(0))
    assert [type(result) for result in results] == [AcceptedComment, DuplicateComment, AcceptedComment]
    assert _count(session, Comment) == 2


def test_a_twin_committed_by_another_process_after_the_look_up_is_refused_and_the_others_kept(
        app, session, site, monkeypatch):
    batch = [_submission(app, site, author_email=f"r{n}@example.org", content=f"Avis {n}") for n in range(3)]
    twin = batch[1]
    other_engine = sa.create_engine(session.get_bind().url)
    looked_up = []

    def then_someone_else_writes(real_look_up):
        def look_up(*args):
            found = real_look_up(*args)
            looked_up.append(found)
            if len(looked_up) > 1:
                return found
            with other_engine.begin() as other:  # another server process, between our look-up and our INSERT
                other.execute(sa.insert(Comment.__table__).values(
                    site_id=site.id, article_id=twin.data["article_id"], author_email=twin.data["author_email"],
                    content_hash=twin.digest, author_name="Ailleurs", content="Déjà là", status="pending",
                    version=1, risk=0.5, reasons=[], created_at=NOW, updated_at=NOW))
            return found
        return look_up

    # On SQLite its comment also takes the id the look-up drew for ours.
    monkeypatch.setattr(postgres_intake, "look_up", then_someone_else_writes(postgres_intake.look_up))
    monkeypatch.setattr(sqlite_intake, "look_up", then_someone_else_writes(sqlite_intake.look_up))
    try:
        results = write_batch(session, batch, dt.timedelta(0))
    finally:
        other_engine.dispose()
    # The batch was then written the ordinary way, which looks nothing up. On SQLite the trigger
    # first finds the drawn id taken, and the batch is looked up again before its twin is found.
    assert len(looked_up) == (2 if session.get_bind().dialect.name == "sqlite" else 1)
    assert [type(result) for result in results] == [AcceptedComment, DuplicateComment, AcceptedComment]
    assert _count(session, Comment) == 3  # two of ours and the other process's
    assert _count(session, Decision) == _count(session, OutboxEvent) == 2
    ours = session.scalars(sa.select(Comment.content).where(Comment.id.in_([results[0].id, results[2].id]))).all()
    assert sorted(ours) == ["Avis 0", "Avis 2"]


def test_a_batch_that_cannot_be_written_leaves_nothing_behind(app, session, site, monkeypatch):
    # Every event gets the same id: the second one breaks the outbox's primary key, after the
    # comments and decisions of the batch were inserted in the same statement or transaction.
    monkeypatch.setattr(outbox, "new_event_id", lambda: "msg_same")
    batch = [_submission(app, site, author_email=f"s{n}@example.org", content=f"Texte {n}") for n in range(3)]
    with pytest.raises(sa_exc.IntegrityError):
        write_batch(session, batch, FLOOD)
    session.rollback()
    assert _count(session, Comment) == _count(session, Decision) == _count(session, OutboxEvent) == 0
    (retried,) = write_batch(session, [_submission(app, site, author_email="s9@example.org")], FLOOD)
    assert isinstance(retried, AcceptedComment) and _count(session, Comment) == 1


def test_a_failure_after_the_insert_while_refused_keys_are_read_again_stores_nothing(app, session, site, monkeypatch):
    # A keyed comment refused as a flood has its key looked up again after the INSERT: if that
    # fails (the database went away), the accepted comment must not stay stored behind a 503.
    first = _submission(app, site, author_email="k@example.org", content="Premier")
    write_batch(session, [first], FLOOD)
    keyed = prepare(site, CommentIn().load(valid_comment(author_email="k@example.org", content="Trop tôt")),
                    scorer=None, settings=app.extensions["moderation.intake_settings"], now=NOW,
                    idempotent=IdempotentResponse("k-flood", "f" * 64, dt.timedelta(hours=1), lambda c: (202, "{}")))

    def database_gone(*_args):
        raise sa_exc.OperationalError("SELECT", {}, Exception("database went away"))

    monkeypatch.setattr(KeysInBatch, "recheck", classmethod(lambda cls, *args: database_gone()))
    with pytest.raises(DatabaseUnavailable):
        write_batch(session, [keyed, _submission(app, site, 1, author_email="autre@example.org")], FLOOD)
    session.rollback()
    assert _count(session, Comment) == _count(session, Decision) == _count(session, OutboxEvent) == 1
