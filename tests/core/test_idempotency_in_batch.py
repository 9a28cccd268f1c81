"""Idempotency-Keys stored with their comment in the writer's transaction, on both databases."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from moderation.api.schemas import CommentIn
from moderation.core import idempotency
from moderation.core.idempotency import fingerprint, look_up_key
from moderation.core.intake_writes import AcceptedComment, write_batch
from moderation.core.models import Comment, IdempotencyKey
from moderation.core.submissions import IdempotentResponse, prepare
from moderation.errors import IdempotencyInFlight, IdempotencyMismatch
from tests.conftest import NOW, valid_comment

FLOOD = dt.timedelta(seconds=15)
TTL = dt.timedelta(hours=24)


def _render(comment) -> tuple[int, str]:
    return 202, json.dumps({"id": comment.id, "status": comment.status.value})


def _keyed(app, site, key: str | None, seconds: int = 0, **changes):
    body = valid_comment(**changes)
    idempotent = None if key is None else IdempotentResponse(key, fingerprint(body), TTL, _render)
    return prepare(site, CommentIn().load(body), scorer=None, settings=app.extensions["moderation.intake_settings"],
                   now=NOW + dt.timedelta(seconds=seconds), idempotent=idempotent)


def _stored_key(session, key: str) -> IdempotencyKey | None:
    session.rollback()
    return session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.key == key))


def _comments(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count(Comment.id)))


def _blind_first_key_read(monkeypatch) -> list:
    """The batch's first read of its stored keys sees none, as if another process stored one just after it."""
    real_init = idempotency.KeysInBatch.__init__
    calls = []

    def blind_first_time(self, connection, batch):
        calls.append(1)
        real_init(self, connection, [] if len(calls) == 1 else batch)

    monkeypatch.setattr(idempotency.KeysInBatch, "__init__", blind_first_time)
    return calls


def test_a_keyed_comment_and_its_response_are_committed_together(app, session, site):
    (comment,) = write_batch(session, [_keyed(app, site, "k-1")], FLOOD)
    assert isinstance(comment, AcceptedComment)
    row = _stored_key(session, "k-1")
    assert (row.response_status, json.loads(row.response_body)) == (202, {"id": comment.id, "status": "pending"})
    # The next request with the key replays that response without writing anything.
    replay = look_up_key(session, site.id, "k-1", fingerprint(valid_comment()), NOW + dt.timedelta(minutes=1), TTL)
    assert (replay.status, json.loads(replay.body)["id"]) == (202, comment.id)


def test_two_requests_with_one_key_in_one_batch_write_one_comment_and_refuse_the_other_409(app, session, site):
    results = write_batch(session, [_keyed(app, site, "same"), _keyed(app, site, "same"),
                                    _keyed(app, site, None, author_email="autre@example.org")], FLOOD)
    assert [type(result) for result in results] == [AcceptedComment, IdempotencyInFlight, AcceptedComment]
    assert _comments(session) == 2


def test_a_key_stored_after_the_request_looked_is_409_and_the_rest_of_the_batch_is_written(app, session, site):
    late = _keyed(app, site, "late")
    other = _keyed(app, site, None, author_email="autre@example.org")
    # A concurrent request with the same key and body (a retry sent too early) was stored between
    # this request's look-up and its batch: 409, not a flood or a duplicate, and its retry replays.
    write_batch(session, [_keyed(app, site, "late")], FLOOD)
    changed = _keyed(app, site, "late", content="Un autre texte", author_email="second@example.org")
    results = write_batch(session, [late, other, changed], FLOOD)
    assert [type(result) for result in results] == [IdempotencyInFlight, AcceptedComment, IdempotencyMismatch]
    assert _comments(session) == 2


def test_an_expired_key_is_replaced_with_the_new_comments_response(app, session, site):
    (old,) = write_batch(session, [_keyed(app, site, "old", author_email="avant@example.org")], FLOOD)
    later = NOW + TTL + dt.timedelta(hours=1)
    assert look_up_key(session, site.id, "old", fingerprint(valid_comment()), later, TTL) is None
    fresh = _keyed(app, site, "old", seconds=int((later - NOW).total_seconds()), content="Nouveau")
    (new,) = write_batch(session, [fresh], FLOOD)
    assert isinstance(new, AcceptedComment) and new.id != old.id
    assert json.loads(_stored_key(session, "old").response_body)["id"] == new.id


def test_a_key_stored_by_another_process_between_look_up_and_insert_refuses_only_that_submission(
        app, session, site, monkeypatch):
    # Two processes got one key with two bodies at once. The other one's batch committed after this
    # batch read the stored keys, so this batch's INSERT of the keys hits the unique constraint;
    # the batch is written again, and the key now refuses its submission.
    write_batch(session, [_keyed(app, site, "race", author_email="ailleurs@example.org",
                                 author_ip="198.51.100.1")], FLOOD)
    session.rollback()
    calls = _blind_first_key_read(monkeypatch)
    results = write_batch(session, [_keyed(app, site, "race", author_email="ici@example.org", author_ip="198.51.100.2"),
                                    _keyed(app, site, None, author_email="autre@example.org",
                                           author_ip="198.51.100.3")], FLOOD)
    assert [type(result) for result in results] == [IdempotencyMismatch, AcceptedComment]
    assert len(calls) == 2  # written twice: the first transaction was rolled back whole
    assert _comments(session) == 2  # the other process's comment and the unkeyed one


def test_one_key_with_two_bodies_in_one_batch_is_422_for_the_second(app, session, site):
    results = write_batch(session, [_keyed(app, site, "deux"),
                                    _keyed(app, site, "deux", content="Autre texte", author_email="b@example.org")],
                          FLOOD)
    assert [type(result) for result in results] == [AcceptedComment, IdempotencyMismatch]
    assert _comments(session) == 1


@pytest.mark.parametrize("flood_interval", [FLOOD, dt.timedelta(0)], ids=["flood-check-on", "flood-check-off"])
def test_a_retry_whose_first_try_another_process_just_stored_is_409_not_a_flood_or_duplicate(
        app, session, site, monkeypatch, flood_interval):
    # The first try was written by another process after this batch read its keys: the retry's
    # comment is then refused by the flood check or as a duplicate, and the key, read again, says 409.
    write_batch(session, [_keyed(app, site, "tot")], FLOOD)
    session.rollback()
    calls = _blind_first_key_read(monkeypatch)
    (result,) = write_batch(session, [_keyed(app, site, "tot", seconds=1)], flood_interval)
    assert isinstance(result, IdempotencyInFlight)
    assert len(calls) == 2
    assert _comments(session) == 1
