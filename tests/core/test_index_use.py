"""The look-ups still go through an index after migration i001 took entries off the intake's path, on both databases."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import event

from moderation.core.flood_window import recent_authors
from moderation.core.models import Comment, Decision
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


def _uses(index: str, plan: str, first: str | None = None) -> bool:
    """Whether the plan reads `index` (not another index whose name begins the same); on SQLite, with
    `first`, also that it looks up that column's value first rather than skipping through the index."""
    if db.engine.dialect.name == "sqlite" and first is not None:
        return re.search(rf"\b{index} \({first}=", plan) is not None
    return re.search(rf"\b{index}\b", plan) is not None


def _statement_plan(statement) -> str:
    compiled = statement.compile(dialect=db.engine.dialect)
    parameters = ([compiled.params[name] for name in compiled.positiontup] if db.engine.dialect.positional
                  else compiled.params)
    return _plan(compiled.string, parameters)


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
    assert _uses("ix_comments_reported_at", plan), plan


def test_a_moderators_decisions_are_read_through_their_partial_index(session, add_comment, moderator):
    comment = add_comment()
    session.add(Decision(comment_id=comment.id, actor="system", action="received", to_status="pending", reasons=[],
                         created_at=NOW))
    session.add(Decision(comment_id=comment.id, actor=moderator.email, action="approve", from_status="pending",
                         to_status="approved", reasons=[], created_at=NOW, moderator_id=moderator.id))
    session.commit()

    by_moderator = sa.select(Decision.action).where(Decision.moderator_id == moderator.id)
    assert session.scalars(by_moderator).all() == ["approve"]
    plan = _statement_plan(by_moderator)
    assert _uses("ix_decisions_moderator_id", plan), plan


def _many_authors(session, site, count: int = 600) -> None:
    """A queue of other authors, a few comments each, with planner statistics as a served database
    has them (`moderation serve` runs PRAGMA optimize; autovacuum analyses PostgreSQL's tables)."""
    session.add_all([Comment(site_id=site.id, article_id="a1", author_name="Lecteur", author_email=f"reader{n % 100}@example.org",
                             content=f"avis {n}", content_hash=f"bulk{n}", created_at=NOW, updated_at=NOW, risk=(n % 97) / 97,
                             status=CommentStatus.PENDING if n % 3 else CommentStatus.APPROVED)
                     for n in range(count)])
    session.commit()
    session.execute(sa.text("ANALYZE"))
    session.commit()
    db.engine.dispose()  # an SQLite connection reads the statistics when it opens


def test_the_flood_check_and_an_authors_history_read_the_author_index(session, site):
    _many_authors(session, site)
    flood = recent_authors(1, 2, 0).params(site0=site.id, email0="reader1@example.org", email1="reader2@example.org",
                                            since=NOW)
    plan = _statement_plan(flood)
    assert _uses("ix_comments_author", plan, first="author_email"), plan
    history = sa.select(sa.func.count(Comment.id)).where(Comment.site_id == site.id,
                                                         Comment.author_email == "reader1@example.org")
    plan = _statement_plan(history)
    assert _uses("ix_comments_author", plan, first="author_email"), plan


def test_the_e_mail_filter_across_sites_reads_the_author_index(session, site, add_comment):
    wanted = add_comment(author_email="souad@example.org")
    _many_authors(session, site)

    page = list_queue(session, "pending", QueueFilter(email=" souad@example.org "))
    assert [comment.id for comment in page.comments] == [wanted.id]
    plan = _page_query_plan(lambda: list_queue(session, "pending", QueueFilter(email="souad@example.org"),
                                               with_counts=False))
    assert _uses("ix_comments_author", plan, first="author_email"), plan


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
