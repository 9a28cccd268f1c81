"""The console's look-ups still go through their indexes after migration i001 made them partial, on both databases."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from moderation.core.models import Decision
from moderation.core.queues import QueueFilter, list_queue
from moderation.core.status import CommentStatus
from moderation.extensions import db
from tests.core.conftest import NOW


def _plan(statement: str, parameters) -> str:
    """The database's plan for a statement as the driver runs it.

    On PostgreSQL sequential scans are turned off: its planner rightly prefers them on test-sized
    tables, and the question here is whether an index can serve the query at all."""
    engine = db.engine
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                return " | ".join(str(row[-1]) for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {statement}", parameters)
            plan = " | ".join(str(row[0]) for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            return plan
        finally:
            cursor.close()
            connection.rollback()


def _page_query_plan(run) -> str:
    """The plan of the queue page's SELECT (the one with ORDER BY ... LIMIT) that `run` executes."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement and "FROM comments" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert statements, "the page query was not run"
    return _plan(*statements[0])


def test_the_reported_queue_reads_its_partial_index(session, add_comment):
    reported = add_comment(status=CommentStatus.APPROVED, reported_at=NOW)
    add_comment(status=CommentStatus.APPROVED)
    add_comment()

    page = list_queue(session, "reported")
    assert [comment.id for comment in page.comments] == [reported.id]
    plan = _page_query_plan(lambda: list_queue(session, "reported", with_counts=False))
    assert "ix_comments_reported_at" in plan, plan


def test_a_moderators_decisions_are_read_through_their_partial_index(session, add_comment, moderator):
    comment = add_comment()
    session.add(Decision(comment_id=comment.id, actor="system", action="received", to_status="pending", reasons=[],
                         created_at=NOW))
    session.add(Decision(comment_id=comment.id, actor=moderator.email, action="approve", from_status="pending",
                         to_status="approved", reasons=[], created_at=NOW, moderator_id=moderator.id))
    session.commit()

    by_moderator = sa.select(Decision.action).where(Decision.moderator_id == moderator.id)
    assert session.scalars(by_moderator).all() == ["approve"]
    compiled = by_moderator.compile(dialect=db.engine.dialect)
    parameters = ([compiled.params[name] for name in compiled.positiontup] if db.engine.dialect.positional
                  else compiled.params)
    plan = _plan(compiled.string, parameters)
    assert "ix_decisions_moderator_id" in plan, plan


def test_both_indexes_are_partial_in_the_database(session):
    """What keeps intake's rows out of them: a new comment is never reported, a system decision has no moderator."""
    engine = db.engine
    names = "('ix_comments_reported_at', 'ix_decisions_moderator_id')"
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            definitions = dict(connection.execute(sa.text(f"SELECT name, sql FROM sqlite_master WHERE name IN {names}")).all())
        else:
            definitions = dict(connection.execute(sa.text(
                f"SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN {names}")).all())
    assert "reported_at IS NOT NULL" in definitions["ix_comments_reported_at"]
    assert "moderator_id IS NOT NULL" in definitions["ix_decisions_moderator_id"]
