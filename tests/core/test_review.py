"""Decisions: transitions, history, conflicts between moderators, bulk, claims, events."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from moderation.core.models import Decision, OutboxEvent
from moderation.core.review import DecisionRequest, claim_comment, decide_comment, decide_many
from moderation.core.status import CommentStatus
from moderation.errors import Forbidden, InvalidReason, InvalidTransition, StaleVersion
from tests.core.conftest import NOW


def events(session, comment_id):
    return [e.type for e in session.scalars(sa.select(OutboxEvent).where(OutboxEvent.comment_id == comment_id)
                                            .order_by(OutboxEvent.created_at, OutboxEvent.id))]


def test_approve_publishes_and_records_who_when_and_the_scores(session, add_comment, moderator):
    comment = add_comment(spam_score=0.2, abuse_score=0.1, model_version="m1")
    decided = decide_comment(session, comment.id, DecisionRequest("approve", expected_version=1),
                             moderator=moderator, now=NOW)
    assert decided.status is CommentStatus.APPROVED and decided.version == 2 and decided.published_at == NOW
    decision = session.scalars(sa.select(Decision).where(Decision.comment_id == comment.id)).one()
    assert (decision.actor, decision.action, decision.from_status, decision.to_status) == (
        "nadia@journal.ma", "approve", "pending", "approved")
    assert (decision.spam_score, decision.abuse_score, decision.model_version) == (0.2, 0.1, "m1")
    assert events(session, comment.id) == ["comment.approved"]


def test_reject_needs_a_reason_and_carries_the_note_and_a_text_for_the_author(session, add_comment, moderator):
    comment = add_comment()
    with pytest.raises(InvalidReason):
        decide_comment(session, comment.id, DecisionRequest("reject"), moderator=moderator, now=NOW)
    decide_comment(session, comment.id, DecisionRequest("reject", reason="insult", note="Restez courtois."),
                   moderator=moderator, now=NOW)
    event = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == "comment.rejected")).one()
    assert event.payload["decision"]["reason_code"] == "insult"
    assert event.payload["decision"]["note_to_author"] == "Restez courtois."
    assert "insultes" in event.payload["decision"]["reason_text"]
    assert event.payload["comment"]["version"] == 2


def test_only_the_transition_table_moves_a_comment(session, add_comment, moderator):
    comment = add_comment()
    decide_comment(session, comment.id, DecisionRequest("spam"), moderator=moderator, now=NOW)
    with pytest.raises(InvalidTransition):
        decide_comment(session, comment.id, DecisionRequest("reject", reason="spam"), moderator=moderator, now=NOW)
    restored = decide_comment(session, comment.id, DecisionRequest("restore"), moderator=moderator, now=NOW)
    assert restored.status is CommentStatus.PENDING
    assert decide_comment(session, comment.id, DecisionRequest("approve"), moderator=moderator,
                          now=NOW).status is CommentStatus.APPROVED
    unpublished = decide_comment(session, comment.id, DecisionRequest("reject", reason="off_topic"),
                                 moderator=moderator, now=NOW)
    assert unpublished.status is CommentStatus.REJECTED and unpublished.published_at is None
    history = [d.action for d in session.scalars(sa.select(Decision).where(Decision.comment_id == comment.id)
                                                  .order_by(Decision.id))]
    assert history == ["spam", "restore", "approve", "reject"]


def test_second_moderator_on_a_stale_version_gets_a_clear_conflict(session, add_comment, moderator, colleague):
    comment = add_comment()
    decide_comment(session, comment.id, DecisionRequest("approve", expected_version=1), moderator=moderator, now=NOW)
    with pytest.raises(StaleVersion) as raised:
        decide_comment(session, comment.id, DecisionRequest("reject", reason="spam", expected_version=1),
                       moderator=colleague, now=NOW)
    assert raised.value.detail == "already approved by nadia@journal.ma at 10:42"
    assert session.get(type(comment), comment.id).status is CommentStatus.APPROVED


def test_two_moderators_at_once_one_wins(app, add_comment, moderator, colleague):
    import threading

    from moderation.extensions import db

    comment = add_comment()
    outcomes = []
    barrier = threading.Barrier(2)

    def act(who, action):
        with app.app_context():
            barrier.wait()
            try:
                decide_comment(db.session, comment.id, DecisionRequest(action, reason="spam" if action == "reject" else None,
                                                                       expected_version=1), moderator=who, now=NOW)
                outcomes.append("ok")
            except StaleVersion:
                outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(moderator, "approve")),
               threading.Thread(target=act, args=(colleague, "reject"))]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 1


def test_viewers_cannot_decide(session, add_comment):
    from moderation.core.moderators import create_moderator

    viewer = create_moderator(session, "v@journal.ma", "correct horse battery", role="viewer")
    with pytest.raises(Forbidden):
        decide_comment(session, add_comment().id, DecisionRequest("approve"), moderator=viewer, now=NOW)


def test_bulk_reports_what_was_done_and_skipped(session, add_comment, moderator):
    pending = [add_comment() for _ in range(3)]
    already = add_comment(status=CommentStatus.APPROVED)
    summary = decide_many(session, [c.id for c in pending] + [already.id, 999_999],
                          DecisionRequest("approve"), moderator=moderator, now=NOW)
    assert summary.done == [c.id for c in pending]
    assert {s["id"]: s["why"] for s in summary.skipped} == {already.id: "invalid-transition", 999_999: "not-found"}
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id))) == 3


def test_reply_published_tells_the_parent_author(session, add_comment, moderator):
    parent = add_comment(author_name="Youssef")
    reply = add_comment(parent_id=parent.id)
    decide_comment(session, reply.id, DecisionRequest("approve"), moderator=moderator, now=NOW)
    event = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == "comment.reply_published")).one()
    assert event.payload["parent"] == {"id": parent.id, "author_name": "Youssef"}


def test_claims_keep_colleagues_off_for_a_few_minutes(session, add_comment, moderator, colleague):
    comment = add_comment()
    assert claim_comment(session, comment.id, moderator=moderator, now=NOW)
    assert not claim_comment(session, comment.id, moderator=colleague, now=NOW + dt.timedelta(minutes=1))
    assert claim_comment(session, comment.id, moderator=colleague, now=NOW + dt.timedelta(minutes=6))
