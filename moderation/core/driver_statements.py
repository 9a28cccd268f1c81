"""Hot INSERTs compiled once by SQLAlchemy and run on the DB-API cursor with SQLAlchemy's own bind processors."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect

_DIALECT_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


class DriverInsert:
    """One INSERT for one dialect: the SQL text and the per-column conversions, computed once.

    Why not connection.execute(): for the intake writer's few statements per batch, SQLAlchemy's
    per-execution work (execution context, parameter processing through generic paths, result
    set-up) cost more than the database itself (bench/README.md, "Intake"). The statement is
    still written and compiled by SQLAlchemy, and every value goes through the column type's own
    bind processor, so what is stored is exactly what connection.execute() would store.

    Every column with a default must be given: defaults are SQLAlchemy's work, skipped here."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: Dialect, *,
                 conflict_key: Sequence[str] | None = None, returning: str | None = None) -> None:
        insert = _DIALECT_INSERTS[dialect.name](table)
        if conflict_key is not None:
            insert = insert.on_conflict_do_nothing(index_elements=list(conflict_key))
        if returning is not None:
            insert = insert.returning(table.c[returning])
        compiled = insert.compile(dialect=dialect, column_keys=list(columns))
        if set(compiled.binds) != set(columns):
            raise ValueError(f"columns with defaults not given: {sorted(set(compiled.binds) - set(columns))}")
        self.sql = compiled.string
        self.returning = returning is not None
        self.positional = dialect.positional
        self.dialect_name = dialect.name
        order = list(compiled.positiontup) if dialect.positional else list(columns)
        self._plan: list[tuple[str, Callable | None]] = [
            (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in order
        ]
        self._names = order

    def parameters(self, values: dict):
        """One row's parameters as the driver takes them (a tuple for qmark, a dict for pyformat)."""
        converted = [values[name] if convert is None or values[name] is None else convert(values[name])
                     for name, convert in self._plan]
        return tuple(converted) if self.positional else dict(zip(self._names, converted))

    def run(self, connection: Connection, rows: list[dict]) -> list[int | None]:
        """Insert the rows in the connection's transaction; with RETURNING, each row's value or None
        (a row skipped by ON CONFLICT DO NOTHING), in the order of `rows`."""
        if not rows:
            return []
        parameters = [self.parameters(row) for row in rows]
        with driver_errors(connection):
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                if not self.returning:
                    cursor.executemany(self.sql, parameters)
                    return []
                if self.dialect_name == "postgresql":
                    # psycopg pipelines the rows (one round trip) and keeps one result per row.
                    cursor.executemany(self.sql, parameters, returning=True)
                    found = []
                    while True:
                        row = cursor.fetchone()
                        found.append(None if row is None else row[0])
                        if not cursor.nextset():
                            return found
                found = []
                for one in parameters:  # sqlite3 keeps the prepared statement between calls
                    cursor.execute(self.sql, one)
                    row = cursor.fetchone()
                    found.append(None if row is None else row[0])
                return found
            finally:
                cursor.close()


@contextmanager
def driver_errors(connection: Connection) -> Iterator[None]:
    """Turn DB-API errors into SQLAlchemy's, as connection.execute() would (so transaction() maps an
    outage to 503), and drop a connection the error shows to be dead."""
    dialect = connection.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, connection.connection.dbapi_connection, None):
            connection.invalidate(error)
        raise sa_exc.DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error) from error


class DriverInserts:
    """The compiled form of one insert per dialect, built on first use (the dialect is known only then)."""

    def __init__(self, table: sa.Table, columns: Sequence[str], **options) -> None:
        self.table, self.columns, self.options = table, tuple(columns), options
        self._by_dialect: dict[str, DriverInsert] = {}

    def __call__(self, connection: Connection) -> DriverInsert:
        name = connection.dialect.name
        compiled = self._by_dialect.get(name)
        if compiled is None:
            compiled = self._by_dialect[name] = DriverInsert(self.table, self.columns, connection.dialect,
                                                             **self.options)
        return compiled
