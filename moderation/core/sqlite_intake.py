"""SQLite's intake batch in two statements instead of six: one look-up, then one INSERT that a trigger spreads over three tables."""
from __future__ import annotations

import json
import sqlite3

from sqlalchemy.engine import Connection

from moderation.core.driver_statements import DriverInserts, DriverSelect, driver_errors
from moderation.core.outbox import listened_from_rows
from moderation.core.postgres_intake import Lookups

# Why: a batch used to take six calls into SQLite (the flood query, BEGIN, the comments' INSERT
# with RETURNING, the decisions', the events', COMMIT), each a release and a wait for the GIL in
# a busy server. As on PostgreSQL (postgres_intake), the new ids are drawn beforehand, in the same
# statement as the flood query, and every row goes in one INSERT. SQLite has no data-modifying
# WITH clause, so the INSERT goes into a TEMP view whose INSTEAD OF trigger writes each table;
# alone in its transaction it needs no BEGIN or COMMIT either (bench/README.md, "Intake").

_VIEW = "moderation_intake_rows"
_READY = "moderation.intake_view"  # key in the DB-API connection's info: the view exists there


def look_up(connection: Connection, count: int, query: tuple[DriverSelect, dict]) -> Lookups:
    """The flood query's rows, `count` new comment ids (after the largest one stored) and the event
    types the sites' webhook endpoints listen for.

    `query` is intake_writes' flood query with its row of the largest id and its rows of listened
    events, those whose e-mail is NULL. No look-up of duplicate keys: a duplicate fails the INSERT,
    and write_batch writes the batch again the ordinary way, which refuses it."""
    rows = query[0].run(connection, query[1])
    recent, listened, last = [], [], 0
    for row in rows:
        if row[1] is not None:
            recent.append(row)
        elif row[2] is not None:
            listened.append((row[0], json.loads(row[2])))
        else:
            last = row[0] or 0
    return Lookups(recent, set(), list(range(last + 1, last + 1 + count)), listened_from_rows(listened))


class SpreadInserts:
    """Rows of several tables, one of each per view row, written by one multi-row INSERT into a
    TEMP view (per connection, made on first use from the same compiled INSERTs as the ordinary
    path, so it always has this code's columns) whose trigger inserts each part into its table.

    Every row is given in full, ids included; a constraint broken by any row fails the whole
    statement, and SQLite undoes what the trigger had written for the others."""

    def __init__(self, *inserts: DriverInserts) -> None:
        self.inserts = inserts
        self._sql: dict[int, str] = {}
        self._columns: list[str] | None = None  # the view's, in the order of each row's parameters

    def run(self, connection: Connection, *tables_rows: list[dict], alone: bool) -> None:
        """Insert the rows (the same number for every table). With `alone`, and no transaction open
        on the connection, the statement is its own transaction: SQLite commits it as it ends."""
        count = len(tables_rows[0])
        if any(len(rows) != count for rows in tables_rows):
            raise ValueError("one row of each table per view row")
        singles = [inserts.for_rows(connection, 1) for inserts in self.inserts]
        if self._columns is None:
            self._columns = [f"t{index}_{name}" for index, single in enumerate(singles) for name in single.column_order]
        dbapi_connection = connection.connection.dbapi_connection
        with driver_errors(connection):
            # A view made inside an open transaction goes if that transaction is rolled back:
            # only one made outside it (autocommitted) is remembered as there.
            lasting = not dbapi_connection.in_transaction
            made = self._make_view(connection, singles)
            per_row = len(self._columns)
            step = max(1, dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // per_row)
            # Several statements must share the caller's transaction; so must an open one.
            alone = alone and count <= step and lasting
            memo: dict = {}  # the same time is a column of each table: formatted once
            for start in range(0, count, step):
                stop = min(count, start + step)
                parameters: list = []
                for index in range(start, stop):
                    for single, rows in zip(singles, tables_rows):
                        parameters += single.parameters([rows[index]], memo)
                self._execute(dbapi_connection, self._statement(stop - start), parameters, alone)
        if made and lasting:
            connection.connection.info[_READY] = True

    @staticmethod
    def _execute(dbapi_connection, sql: str, parameters: list, alone: bool) -> None:
        isolation_level = dbapi_connection.isolation_level
        if alone:  # no implicit BEGIN before the INSERT, hence no COMMIT after it
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql, parameters)
        finally:
            cursor.close()
            if alone:
                dbapi_connection.isolation_level = isolation_level

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            row = "(" + ", ".join("?" * len(self._columns)) + ")"
            columns = ", ".join(self._columns)
            sql = self._sql[rows] = f"INSERT INTO {_VIEW} ({columns}) VALUES " + ", ".join([row] * rows)
        return sql

    def _make_view(self, connection: Connection, singles: list) -> bool:
        """Make the view and its trigger on this connection unless they are known to be there; True if made."""
        if connection.connection.info.get(_READY):
            return False
        quote = connection.dialect.identifier_preparer.quote
        body = []
        for index, single in enumerate(singles):
            names = single.column_order
            body.append(f"INSERT INTO {quote(single.table_name)} ({', '.join(quote(name) for name in names)}) "
                        f"VALUES ({', '.join(f'NEW.t{index}_{name}' for name in names)});")
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            # TEMP: nothing in the database file; a new connection, or a new version, makes its own.
            cursor.execute(f"DROP VIEW IF EXISTS temp.{_VIEW}")
            cursor.execute(f"CREATE TEMP VIEW {_VIEW} AS SELECT "
                           + ", ".join(f"NULL AS {name}" for name in self._columns) + " WHERE 0")
            cursor.execute(f"CREATE TEMP TRIGGER {_VIEW}_spread INSTEAD OF INSERT ON {_VIEW} BEGIN "
                           + " ".join(body) + " END")
        finally:
            cursor.close()
        return True
