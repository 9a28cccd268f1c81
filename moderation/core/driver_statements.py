"""Hot INSERTs and SELECTs compiled once by SQLAlchemy, run on the DB-API cursor with SQLAlchemy's own type processors."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect

_DIALECT_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def bind_processor(type_, dialect: Dialect) -> Callable | None:
    """The conversion SQLAlchemy applies to a value of this type before the driver sees it."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _bound(value, convert: Callable | None):
    return value if convert is None or value is None else convert(value)


def _memo_kind(type_) -> type | None:
    """For a date-time type (its values are hashable, and a comment's time is also its decision's and
    its event's), the key its conversions are shared under in a batch; None for any other type."""
    stored = getattr(type_, "impl_instance", type_)  # what a TypeDecorator stores its values as
    return type(type_) if isinstance(stored, sa.DateTime) else None


class DriverInsert:
    """One multi-row INSERT of exactly `rows` rows for one dialect: its SQL text and the conversion
    of each value, computed once.

    Why not connection.execute(): for the intake writer's few statements per batch, SQLAlchemy's
    per-execution work (execution context, parameter processing through generic paths, result
    set-up) cost more than the database itself (bench/README.md, "Intake"). The statement is
    still written and compiled by SQLAlchemy, and every value goes through the column type's own
    bind processor, so what is stored is exactly what connection.execute() would store.

    Why one statement for all the rows, not executemany(): each call into the driver lets go of
    the GIL, and in a busy server every such release costs the writer a wait for the GIL to come
    back; a batch of comments used to make ~25 of them.

    Every column with a default must be given: defaults are SQLAlchemy's work, skipped here."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: Dialect, *,
                 conflict_key: Sequence[str] | None = None, returning: str | None = None, rows: int = 1,
                 bind_prefix: str = "") -> None:
        self.returning = returning is not None
        # With ON CONFLICT DO NOTHING a skipped row returns nothing: the key tells which row got which id.
        self.key = tuple(conflict_key) if conflict_key is not None and self.returning else ()
        # A prefix keeps the names apart when several inserts share one statement (postgres_intake).
        insert = _DIALECT_INSERTS[dialect.name](table).values([
            {name: sa.bindparam(f"{bind_prefix}{name}__{index}", type_=table.c[name].type) for name in columns}
            for index in range(rows)
        ])
        if conflict_key is not None:
            insert = insert.on_conflict_do_nothing(index_elements=list(conflict_key))
        if returning is not None:
            insert = insert.returning(table.c[returning], *(table.c[name] for name in self.key))
        compiled = insert.compile(dialect=dialect)
        expected = {f"{bind_prefix}{name}__{index}" for name in columns for index in range(rows)}
        if set(compiled.binds) != expected:
            added = sorted({name.split("__")[0].removeprefix(bind_prefix) for name in set(compiled.binds) - expected})
            raise ValueError(f"columns with defaults not given: {added}")
        self.sql = compiled.string
        self.positional = dialect.positional
        self._names = list(compiled.positiontup) if dialect.positional else list(compiled.binds)
        self._plan: list[tuple[int, str, Callable | None, type | None]] = []
        for name in self._names:
            column, index = name.removeprefix(bind_prefix).rsplit("__", 1)
            type_ = table.c[column].type
            self._plan.append((int(index), column, bind_processor(type_, dialect), _memo_kind(type_)))
        self._key_plan = [(name, bind_processor(table.c[name].type, dialect)) for name in self.key]
        self.table_name = table.name
        # The columns in the order parameters() gives their values, for one row (sqlite_intake's view).
        self.column_order = [column for index, column, _convert, _kind in self._plan if index == 0]

    def parameters(self, rows: list[dict], memo: dict | None = None):
        """The rows' parameters as the driver takes them (a tuple for qmark, a dict for pyformat).

        `memo` keeps conversions of date-times for the caller's next rows: on SQLite each is
        formatted as text, and one intake batch gives the same time to five columns per comment."""
        converted: list = []
        add = converted.append
        for index, column, convert, kind in self._plan:
            value = rows[index][column]
            if convert is None or value is None:
                add(value)
            elif kind is None or memo is None:
                add(convert(value))
            else:
                key = (kind, value.tzinfo, value)  # equal instants in two zones may be stored apart
                done = memo.get(key)
                if done is None:
                    done = memo[key] = convert(value)
                add(done)
        return tuple(converted) if self.positional else dict(zip(self._names, converted))

    def run(self, connection: Connection, rows: list[dict]) -> list[int | None]:
        """Insert exactly the number of rows compiled for, in the connection's transaction; with RETURNING, each row's
        value or None (a row skipped by ON CONFLICT DO NOTHING, also as the twin of an earlier row)."""
        parameters = self.parameters(rows)
        with driver_errors(connection):
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(self.sql, parameters)
                returned = cursor.fetchall() if self.returning else []
            finally:
                cursor.close()
        if not self.returning:
            return []
        if not self.key:
            return [row[0] for row in returned]
        by_key = {tuple(row[1:]): row[0] for row in returned}
        return [by_key.pop(self._key_of(row), None) for row in rows]

    def _key_of(self, row: dict) -> tuple:
        # As the driver hands the values back: converted like the parameters that were sent.
        return tuple(_bound(row[name], convert) for name, convert in self._key_plan)


class DriverInserts:
    """An insert of any number of rows: the compiled form per dialect and row count, built on first use
    (the dialect is known only then); more than MAX_ROWS rows, or more than MAX_PARAMETERS values,
    go in several statements."""

    MAX_ROWS = 64
    # SQLite before 3.32 refuses more than 999 parameters in one statement (PostgreSQL takes 65,535).
    MAX_PARAMETERS = 999

    def __init__(self, table: sa.Table, columns: Sequence[str], **options) -> None:
        self.table, self.columns, self.options = table, tuple(columns), options
        self._compiled: dict[tuple[str, int], DriverInsert] = {}

    def for_rows(self, connection: Connection, rows: int) -> DriverInsert:
        key = (connection.dialect.name, rows)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = DriverInsert(self.table, self.columns, connection.dialect,
                                                          rows=rows, **self.options)
        return compiled

    def run(self, connection: Connection, rows: list[dict]) -> list[int | None]:
        """Insert the rows in the connection's transaction; with RETURNING, each row's value or None
        (a row skipped by ON CONFLICT DO NOTHING), in the order of `rows`."""
        found: list[int | None] = []
        step = max(1, min(self.MAX_ROWS, self.MAX_PARAMETERS // len(self.columns)))
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            found += self.for_rows(connection, len(chunk)).run(connection, chunk)
        return found


class DriverSelect:
    """One SELECT for one dialect: its SQL text, the conversion of each parameter and of each result
    column, computed once. Rows come back as tuples of the values the ORM would hand back.

    Every parameter is a plain bindparam (no expanding IN lists: their SQL is rebuilt per call, which
    is what made the intake writer's flood check cost more than the database; see intake_writes)."""

    def __init__(self, select: sa.Select | sa.CompoundSelect, dialect: Dialect) -> None:
        compiled = select.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = dialect.positional
        names = list(compiled.positiontup) if dialect.positional else list(compiled.binds)
        self._binds: list[tuple[str, Callable | None]] = [
            (name, bind_processor(compiled.binds[name].type, dialect)) for name in names
        ]
        self._dialect = dialect
        self._types = [column.type.dialect_impl(dialect) for column in select.selected_columns]
        self._results: list[Callable | None] | None = None  # some depend on the driver's type codes

    def parameters(self, values: dict):
        """The values as the driver takes them, each converted by its type's bind processor."""
        converted = [_bound(values[name], convert) for name, convert in self._binds]
        return tuple(converted) if self.positional else dict(zip((n for n, _ in self._binds), converted))

    def run(self, connection: Connection, values: dict) -> list[tuple]:
        with driver_errors(connection):
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(self.sql, self.parameters(values))
                return self.rows(cursor)
            finally:
                cursor.close()

    def rows(self, cursor) -> list[tuple]:
        """The executed statement's rows from the cursor, as the ORM would hand them back."""
        rows = cursor.fetchall()
        if self._results is None:
            self._results = [type_.result_processor(self._dialect, description[1])
                             for type_, description in zip(self._types, cursor.description)]
        if not any(self._results):
            return [tuple(row) for row in rows]
        return [tuple(value if convert is None else convert(value) for value, convert in zip(row, self._results))
                for row in rows]


class DriverSelects:
    """The compiled forms of SELECTs built by `build(*shape)`, per dialect and shape, on first use.

    The shape is whatever changes the SQL text (for example how many values an IN list holds);
    at most `limit` shapes are kept, the oldest are dropped first."""

    def __init__(self, build: Callable[..., sa.Select | sa.CompoundSelect], limit: int = 256) -> None:
        self.build, self.limit = build, limit
        self._compiled: dict[tuple, DriverSelect] = {}

    def __call__(self, connection: Connection, *shape) -> DriverSelect:
        key = (connection.dialect.name, *shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= self.limit:
                try:
                    self._compiled.pop(next(iter(self._compiled)), None)
                except (StopIteration, RuntimeError):  # another thread changed it meanwhile: keep going
                    pass
            compiled = self._compiled[key] = DriverSelect(self.build(*shape), connection.dialect)
        return compiled


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
