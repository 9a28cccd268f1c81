"""PostgreSQL's intake batch in three round trips instead of six: the look-ups pipelined, one statement for every INSERT."""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from moderation.core.driver_statements import DriverInserts, DriverSelect, DriverSelects, driver_errors
from moderation.core.models import Comment
from moderation.core.outbox import listened_from_rows

# Why: the writer waits for each of PostgreSQL's answers, and in a busy server every answer also
# costs it a wait for the GIL (0.7-3 ms measured with strace -T). A batch used to take six:
# BEGIN, the flood query, the comments' INSERT, the decisions', the events', COMMIT. Now BEGIN,
# the flood query, the duplicate look-up and the new ids go in one pipeline, the three INSERTs in
# one statement, then COMMIT.

_COLUMNS = Comment.__table__.c
_ID_BLOCK = "SELECT nextval(pg_get_serial_sequence('comments', 'id')) FROM generate_series(1, %(count)s)"


def _existing_keys(count: int) -> sa.Select:
    """Comments that already have one of the batch's duplicate keys (the unique constraint's columns)."""
    key = (_COLUMNS.site_id, _COLUMNS.article_id, _COLUMNS.author_email, _COLUMNS.content_hash)
    wanted = [sa.tuple_(*(sa.bindparam(f"{column.name}{index}", type_=column.type) for column in key))
              for index in range(count)]
    return sa.select(*key).where(sa.tuple_(*key).in_(wanted))


_EXISTING = DriverSelects(_existing_keys)


class Lookups:
    """What the batch needs to know before its INSERTs: recent comments of its authors (flood),
    the duplicate keys already stored, and one new comment id per submission."""

    def __init__(self, recent: list[tuple], existing: set[tuple], ids: list[int],
                 listened: dict[int, frozenset[str]]) -> None:
        self.recent, self.existing = recent, existing
        self.ids = iter(ids)  # handed out in the batch's order, so ids still follow arrival
        self.listened = listened  # outbox.listened_events() of the batch's sites
        self.held = None  # SQLite: what the next batches may use instead of a look-up (sqlite_intake)


def look_up(connection: Connection, keys: Sequence[tuple], flood: tuple[DriverSelect, dict] | None,
            listened: tuple[DriverSelect, dict] | None) -> Lookups:
    """One round trip (with the transaction's BEGIN) for the flood query, the duplicates, the ids and
    the event types the sites' webhook endpoints listen for.

    `keys` are the batch's duplicate keys as (site_id, article_id, author_email, content_hash);
    `flood` and `listened` are queries with their values (intake_writes, outbox)."""
    existing = _EXISTING(connection, len(keys))
    values = {}
    for index, key in enumerate(keys):
        values.update({f"site_id{index}": key[0], f"article_id{index}": key[1],
                       f"author_email{index}": key[2], f"content_hash{index}": key[3]})
    dbapi_connection = connection.connection.dbapi_connection
    with driver_errors(connection):
        cursors = [dbapi_connection.cursor() for _ in range(4)]
        try:
            with dbapi_connection.pipeline():
                cursors[0].execute(existing.sql, existing.parameters(values))
                cursors[1].execute(_ID_BLOCK, {"count": len(keys)})
                for cursor, query in zip(cursors[2:], (listened, flood)):
                    if query is not None:
                        cursor.execute(query[0].sql, query[0].parameters(query[1]))
            found = {tuple(row) for row in existing.rows(cursors[0])}
            ids = [row[0] for row in cursors[1].fetchall()]
            listened_rows = listened[0].rows(cursors[2]) if listened is not None else []
            recent = flood[0].rows(cursors[3]) if flood is not None else []
        finally:
            for cursor in cursors:
                cursor.close()
    return Lookups(recent, found, ids, listened_from_rows(listened_rows))


class ChainedInserts:
    """Several multi-row INSERTs run as one statement: all but the last as WITH clauses (PostgreSQL
    runs every data-modifying WITH clause to completion; foreign keys are checked at the end of the
    statement, so decisions may refer to comments inserted beside them). Rows of each table are
    given in full, ids included: nothing needs to come back."""

    def __init__(self, *inserts: DriverInserts) -> None:
        self.inserts = inserts  # each compiled with its own bind prefix, so that the names stay apart
        self._sql: dict[tuple[int, ...], str] = {}

    def run(self, connection: Connection, *tables_rows: list[dict]) -> None:
        compiled = [inserts.for_rows(connection, len(rows)) for inserts, rows in zip(self.inserts, tables_rows)]
        shape = tuple(len(rows) for rows in tables_rows)
        sql = self._sql.get(shape)
        if sql is None:
            clauses = ", ".join(f"insert_{index} AS ({one.sql})" for index, one in enumerate(compiled[:-1]))
            sql = self._sql[shape] = f"WITH {clauses} {compiled[-1].sql}"
        parameters: dict = {}
        memo: dict = {}  # the same time is a column of each table: converted once
        for one, rows in zip(compiled, tables_rows):
            parameters.update(one.parameters(rows, memo))
        with driver_errors(connection):
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(sql, parameters)
            finally:
                cursor.close()
