"""SQLite's intake batch in one statement: an INSERT that a trigger checks and spreads over three tables, after a look-up at most once a second."""
from __future__ import annotations

import json
import sqlite3
import time

from sqlalchemy.engine import Connection

from moderation.core.driver_statements import DriverInserts, DriverSelect, bind_processor, driver_errors
from moderation.core.outbox import listened_changes, listened_from_rows
from moderation.core.postgres_intake import Lookups

# Why: a batch used to take six calls into SQLite (the flood query, BEGIN, the comments' INSERT
# with RETURNING, the decisions', the events', COMMIT), each a release and a wait for the GIL in
# a busy server. As on PostgreSQL (postgres_intake), the new ids are drawn beforehand, in the same
# statement as the flood query, and every row goes in one INSERT. SQLite has no data-modifying
# WITH clause, so the INSERT goes into a TEMP view whose INSTEAD OF trigger writes each table;
# alone in its transaction it needs no BEGIN or COMMIT either (bench/README.md, "Intake").

# Why one statement (bench/README.md, "Thirteenth session"): each statement lets go of the GIL,
# and in a busy server the writer then waits for it behind the request threads; the look-up alone
# took 2.9-3.6 ms of a 4.8 ms batch for 0.3 ms of CPU, and intake served 13-19 % more at 8 clients
# without it. So the look-up runs once a second: in between the writer draws ids from what it
# last read, and the trigger checks in SQLite what the look-up's rows let Python check: an id taken
# meanwhile (another process wrote), and a flood against stored comments. Either aborts the INSERT
# with one of the messages below; write_batch then forgets what was held and writes the batch again
# after a look-up, which refuses the flood with its Retry-After. Whether anybody listens for an
# event is read by the trigger too, in the INSERT itself.

_VIEW = "moderation_intake_rows"
_READY = "moderation.intake_view"  # key in the DB-API connection's info: the view exists there
_HELD = "moderation.intake_held"  # key in the DB-API connection's info: what its last look-up read
HELD_SECONDS = 1.0  # as long as the webhook worker's own poll: a wake missed meanwhile is late by no more
STALE_IDS = "moderation: comment ids held by the intake writer are out of date"
FLOOD = "moderation: a comment of this author is within the flood interval"


class _Held:
    """The next free comment id and the sites' listened events, as read by the last look-up."""

    __slots__ = ("next_id", "listened", "until", "changes")

    def __init__(self, next_id: int, listened: dict, changes: int) -> None:
        self.next_id, self.listened, self.changes = next_id, listened, changes
        self.until = time.monotonic() + HELD_SECONDS


def held_lookups(connection: Connection, count: int, site_ids: set[int]) -> Lookups | None:
    """The batch's ids and its sites' listened events from what this connection last read, while
    that is under HELD_SECONDS old and covers these sites; None when a look-up must run.

    No flood rows: the trigger checks stored comments; write_batch still checks within the batch."""
    held = connection.connection.info.pop(_HELD, None)  # given back by hold() once the batch is written
    if (held is None or held.changes != listened_changes() or held.until < time.monotonic()
            or not site_ids <= held.listened.keys()):
        return None
    first = held.next_id
    held.next_id += count
    lookups = Lookups([], set(), list(range(first, first + count)), held.listened)
    lookups.held = held
    return lookups


def hold(connection: Connection, lookups: Lookups) -> None:
    """Keep these look-ups' next ids and listened events for the next batches: their INSERT went in."""
    if lookups.held is not None:
        connection.connection.info[_HELD] = lookups.held


def forget(connection: Connection) -> None:
    """Drop what was held, after a batch failed or was written another way: the next one looks up."""
    connection.connection.info.pop(_HELD, None)


def is_check_failure(error: BaseException) -> bool:
    """The trigger refused the INSERT: ids out of date, or a flood."""
    return str(getattr(error, "orig", error)) in (STALE_IDS, FLOOD)


def look_up(connection: Connection, count: int, query: tuple[DriverSelect, dict]) -> Lookups:
    """The flood query's rows, `count` new comment ids (after the largest one stored) and the event
    types the sites' webhook endpoints listen for; the ids after these and the listened events are
    then held for the next batches (held_lookups).

    `query` is flood_window's query with its row of the largest id and its rows of listened
    events, those whose e-mail is NULL. No look-up of duplicate keys: a duplicate fails the INSERT,
    and write_batch writes the batch again the ordinary way, which refuses it."""
    changes = listened_changes()
    rows = query[0].run(connection, query[1])
    recent, listened, last = [], [], 0
    for row in rows:
        if row[1] is not None:
            recent.append(row)
        elif row[2] is not None:
            listened.append((row[0], json.loads(row[2])))
        else:
            last = row[0] or 0
    lookups = Lookups(recent, set(), list(range(last + 1, last + 1 + count)), listened_from_rows(listened))
    lookups.held = _Held(last + 1 + count, lookups.listened, changes)
    return lookups


class SpreadInserts:
    """A comment, its decision and its event per view row, written by one multi-row INSERT into a
    TEMP view (per connection, made on first use from the same compiled INSERTs as the ordinary
    path, so it always has this code's columns) whose trigger inserts each part into its table.

    Every row is given in full, ids included, with the time before which a comment of the same
    author is a flood (None: no flood check). Before it writes a row the trigger refuses, with
    STALE_IDS, an id not above every stored one, and with FLOOD, a stored comment of the same
    site and e-mail or IP after that time; the event is written dispatched unless the site's
    endpoints listen for its type (Site.listened_events), as outbox.event_rows would decide.
    Anything a row breaks fails the whole statement, and SQLite undoes what the trigger had
    written for the others."""

    def __init__(self, comments: DriverInserts, decisions: DriverInserts, events: DriverInserts,
                 sites_table: str, flood_since_type) -> None:
        self.inserts = (comments, decisions, events)
        self.sites_table = sites_table
        self.flood_since_type = flood_since_type
        self._sql: dict[int, str] = {}
        self._columns: list[str] | None = None  # the view's, in the order of each row's parameters
        self._convert_since = None  # flood_since's bind processor (SQLite's), set with _columns

    def run(self, connection: Connection, comments: list[dict], decisions: list[dict], events: list[dict],
            flood_since: list, alone: bool) -> None:
        """Insert the rows (as many of each). With `alone`, and no transaction open on the
        connection, the statement is its own transaction: SQLite commits it as it ends."""
        tables_rows = (comments, decisions, events)
        count = len(comments)
        if any(len(rows) != count for rows in (*tables_rows, flood_since)):
            raise ValueError("one row of each table per view row")
        singles = [inserts.for_rows(connection, 1) for inserts in self.inserts]
        if self._columns is None:
            self._columns = [f"t{index}_{name}" for index, single in enumerate(singles)
                             for name in single.column_order] + ["flood_since"]
            self._convert_since = bind_processor(self.flood_since_type, connection.dialect)
        convert = self._convert_since
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
                    since = flood_since[index]
                    parameters.append(since if since is None or convert is None else convert(since))
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
        comments, sites = quote(singles[0].table_name), quote(self.sites_table)
        stored_after = "created_at > NEW.flood_since AND site_id = NEW.t0_site_id"
        body = [
            f"SELECT RAISE(ABORT, '{STALE_IDS}') WHERE EXISTS (SELECT 1 FROM {comments} WHERE id >= NEW.t0_id);",
            # The same two look-ups as flood_window's query, on the same indexes.
            f"SELECT RAISE(ABORT, '{FLOOD}') WHERE NEW.flood_since IS NOT NULL AND ("
            f"EXISTS (SELECT 1 FROM {comments} WHERE author_email = NEW.t0_author_email AND {stored_after}) OR "
            f"(NEW.t0_author_ip IS NOT NULL AND EXISTS (SELECT 1 FROM {comments} "
            f"WHERE author_ip = NEW.t0_author_ip AND {stored_after})));",
        ]
        heard = (f"EXISTS (SELECT 1 FROM {sites}, json_each({sites}.listened_events) AS listened "
                 f"WHERE {sites}.id = NEW.t2_site_id AND listened.value = NEW.t2_type)")
        computed = {(2, "dispatched_at"): f"CASE WHEN {heard} THEN NULL ELSE NEW.t2_created_at END"}
        for index, single in enumerate(singles):
            names = single.column_order
            values = [computed.get((index, name), f"NEW.t{index}_{name}") for name in names]
            body.append(f"INSERT INTO {quote(single.table_name)} ({', '.join(quote(name) for name in names)}) "
                        f"VALUES ({', '.join(values)});")
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
