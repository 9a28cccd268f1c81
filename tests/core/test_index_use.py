"""The console's look-ups still go through their indexes after migration i001 made them partial, on both databases."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from moderation.core.models import Comment, Decision
from moderation.core.queues import QueueFilter, list_queue
from moderation.core.status import CommentStatus
from moderation.extensions import db
from tests.core.conftest import NOW


def _page_query_plan(session, run) -> str:
    """The plan of the queue page's SELECT (the one with ORDER BY ... LIMIT) that `run` executes.

    On PostgreSQL sequential scans are turned off: its planner rightly prefers them on test-sized
    tables, and the question here is whether an index can serve the query at all."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement and "FROM comments" in statement:
            statements.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements, "the page query was not run"
    statement, parameters = statements[0]
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {statement}", parameters)
            plan = " | ".join(str(row[0]) for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
        cursor.close()
        connection.rollback()
    return plan


def test_the_reported_queue_reads_its_partial_index(session, add_comment):
    reported = add_comment(status=CommentStatus.APPROVED, reported_at=NOW)
    add_comment(status=CommentStatus.APPROVED)
    add_comment()

    page = list_queue(session, "reported")
    assert [comment.id for comment in page.comments] == [reported.id]
    plan = _page_query_plan(session, lambda: list_queue(session, "reported", with_counts=False))
    assert "ix_comments_reported_at" in plan, plan


def test_intake_leaves_the_partial_indexes_empty(session, add_comment, moderator):
    """What the partial indexes hold: reported comments and moderators' decisions, nothing else."""
    comment = add_comment()
    session.add(Decision(comment_id=comment.id, actor="system", action="received", to_status="pending", reasons=[],
                         created_at=NOW))
    session.add(Decision(comment_id=comment.id, actor=moderator.email, action="approve", from_status="pending",
                         to_status="approved", reasons=[], created_at=NOW, moderator_id=moderator.id))
    session.commit()
    engine = db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            definitions = dict(connection.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE name IN ('ix_comments_reported_at', 'ix_decisions_moderator_id')")).all())
        else:
            definitions = dict(connection.execute(sa.text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE indexname IN ('ix_comments_reported_at', 'ix_decisions_moderator_id')")).all())
    assert "reported_at IS NOT NULL" in definitions["ix_comments_reported_at"]
    assert "moderator_id IS NOT NULL" in definitions["ix_decisions_moderator_id"]
    # Reading through the partial index still finds the moderator's decision.
    found = session.scalars(sa.select(Decision.action).where(Decision.moderator_id == moderator.id)).all()
    assert found == ["approve"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Comment).where(Comment.reported_at.is_not(None))) == 0
