"""Driver statements store and read exactly what SQLAlchemy stores and reads, and their errors read like SQLAlchemy's."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from moderation.core import intake_writes
from moderation.core.driver_statements import DriverInsert, DriverInserts, DriverSelects
from moderation.core.models import Comment, Decision
from moderation.core.sites import create_site
from moderation.core.status import CommentStatus
from tests.conftest import NOW

TABLE = Comment.__table__
INSERT = DriverInserts(TABLE, intake_writes._COMMENT_COLUMNS, conflict_key=intake_writes._DUPLICATE_KEY,
                       returning="id")


def _row(site_id: int, article_id: str, **changes) -> dict:
    row = dict.fromkeys(intake_writes._COMMENT_COLUMNS)
    row.update(
        site_id=site_id, article_id=article_id, author_name="Amina <b>", author_email="amina@example.org",
        content="تعليق\u200f mixte <script>alert(1)</script> — très bien", content_hash="h" * 64,
        status=CommentStatus.SPAM, reasons=[{"code": "likely_spam", "detail": "0.97"}], version=3,
        created_at=NOW, updated_at=NOW + dt.timedelta(seconds=1),
        published_at=NOW.astimezone(dt.timezone(dt.timedelta(hours=1))),  # another offset, stored as UTC
        risk=0.97, spam_score=0.97, abuse_score=0.01, detected_language="ary", model_version="m-1",
        explanation={"spam": [{"term": "promo", "weight": 1.25}], "abuse": []}, author_ip="2001:db8::1",
    )
    row.update(changes)
    return row


def _stored(session, article_id: str) -> dict:
    comment = session.scalars(sa.select(Comment).where(Comment.article_id == article_id)).one()
    return {column: getattr(comment, column) for column in intake_writes._COMMENT_COLUMNS if column != "article_id"}


def test_rows_read_back_equal_to_those_written_by_sqlalchemy(session):
    site, _key = create_site(session, "Le Site")
    connection = session.connection()
    ids = INSERT.run(connection, [_row(site.id, "driver")])
    session.execute(sa.insert(TABLE).values(**_row(site.id, "sqlalchemy")))
    session.commit()
    assert ids[0] is not None
    by_driver, by_sqlalchemy = _stored(session, "driver"), _stored(session, "sqlalchemy")
    assert by_driver == by_sqlalchemy
    assert by_driver["published_at"] == NOW and by_driver["status"] is CommentStatus.SPAM


def test_a_duplicate_row_gets_none_and_the_others_their_ids_in_order(session):
    site, _key = create_site(session, "Le Site")
    connection = session.connection()
    first, twin, other = (_row(site.id, "a"), _row(site.id, "a"), _row(site.id, "b"))
    ids = INSERT.run(connection, [first, twin, other])
    session.commit()
    stored = dict(session.execute(sa.select(Comment.article_id, Comment.id)).all())
    assert ids == [stored["a"], None, stored["b"]]


def test_driver_errors_are_sqlalchemy_errors(session):
    connection = session.connection()
    with pytest.raises(sa.exc.IntegrityError):  # no such site: the foreign key refuses it
        INSERT.run(connection, [_row(999_999, "orphan")])
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_column_with_a_default_left_out_is_refused_when_compiled(session):
    columns = [c for c in ("comment_id", "actor", "action", "to_status")]  # created_at and reasons have defaults
    with pytest.raises(ValueError, match="created_at"):
        DriverInsert(Decision.__table__, columns, session.connection().dialect)


def test_more_rows_than_one_statement_takes_are_split_and_answered_in_order(session, monkeypatch):
    monkeypatch.setattr(DriverInserts, "MAX_ROWS", 2)
    site, _key = create_site(session, "Le Site")
    connection = session.connection()
    rows = [_row(site.id, name) for name in ("a", "b", "a", "c", "b")]  # twins in other statements
    ids = INSERT.run(connection, rows)
    session.commit()
    stored = dict(session.execute(sa.select(Comment.article_id, Comment.id)).all())
    assert ids == [stored["a"], stored["b"], None, stored["c"], None]


def test_a_batch_never_puts_more_values_in_one_statement_than_old_sqlite_takes(session):
    site, _key = create_site(session, "Le Site")
    connection = session.connection()
    per_statement = DriverInserts.MAX_PARAMETERS // len(intake_writes._COMMENT_COLUMNS)
    ids = INSERT.run(connection, [_row(site.id, f"a{n}") for n in range(per_statement + 3)])
    session.commit()
    assert len(set(ids)) == per_statement + 3 and None not in ids
    assert len(intake_writes._COMMENT_COLUMNS) * max(rows for _dialect, rows in INSERT._compiled) <= 999


def _by_articles(count: int):
    columns = TABLE.c
    return (sa.select(columns.article_id, columns.status, columns.created_at, columns.explanation, columns.spam_score)
            .where(columns.article_id.in_([sa.bindparam(f"a{i}", type_=columns.article_id.type) for i in range(count)]))
            .order_by(columns.article_id))


def test_a_driver_select_reads_the_values_sqlalchemy_reads(session):
    site, _key = create_site(session, "Le Site")
    connection = session.connection()
    INSERT.run(connection, [_row(site.id, "x"), _row(site.id, "y", status=CommentStatus.PENDING, explanation=None)])
    session.commit()
    selects = DriverSelects(_by_articles)
    values = {"a0": "x", "a1": "y"}
    connection = session.connection()
    ours = selects(connection, 2).run(connection, values)
    theirs = [tuple(row) for row in session.execute(_by_articles(2), values)]
    assert ours == theirs
    assert ours[0][1] is CommentStatus.SPAM and ours[0][2] == NOW and ours[0][2].tzinfo is not None
    assert selects(connection, 2) is selects(connection, 2)  # compiled once per shape


def test_times_shared_between_rows_are_converted_once_and_exactly_as_alone(session):
    """The memo of a batch's date-time conversions changes no value: not even for one instant given
    in two zones, which a plain DateTime column stores as two different local times."""
    dialect = session.get_bind().dialect
    table = sa.Table("times", sa.MetaData(), sa.Column("plain", sa.DateTime), sa.Column("utc", Comment.created_at.type),
                     sa.Column("again", sa.DateTime))
    insert = DriverInsert(table, ("plain", "utc", "again"), dialect, rows=2)
    elsewhere = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))  # equal to NOW, another wall clock
    rows = [dict(plain=NOW, utc=NOW, again=elsewhere), dict(plain=elsewhere, utc=elsewhere, again=None)]
    calls = []
    for index, (row, column, convert, kind) in enumerate(insert._plan):
        if convert is not None:
            insert._plan[index] = (row, column, lambda value, convert=convert: calls.append(value) or convert(value), kind)
    memo: dict = {}
    with_memo = insert.parameters(rows, memo)
    converted_with_memo = len(calls)
    assert with_memo == insert.parameters(rows)  # the same values as converted one by one
    if dialect.name == "sqlite":  # PostgreSQL's driver takes the date-times themselves: nothing to convert
        assert converted_with_memo < len(calls) - converted_with_memo
    assert insert.parameters(rows, memo) == with_memo  # and again from a memo already filled
