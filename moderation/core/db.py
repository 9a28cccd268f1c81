"""transaction(): the only place that commits; database failures become DatabaseUnavailable."""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from moderation.errors import DatabaseUnavailable

# Errors that mean "the database is not there or too busy", not "your data is wrong".
UNAVAILABLE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


class _WriteLock:
    """One writer at a time per SQLite file, queued in Python.

    SQLite allows one writer; a second thread that finds the file locked does not queue but
    sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and retries. Under concurrent intake
    those sleeps were most of the latency (bench/intake.py: p99 340 ms at 8 threads). Threads of
    this process now wait their turn on a lock instead and are woken the moment it is free;
    other processes (a separate `moderation worker`) are still arbitrated by the busy timeout.
    A thread that waits longer than `timeout_s` for its turn gets DatabaseUnavailable (503)."""

    def __init__(self, timeout_s: float) -> None:
        self.lock = threading.RLock()
        self.timeout_s = timeout_s


_write_locks: "weakref.WeakKeyDictionary[Engine, _WriteLock]" = weakref.WeakKeyDictionary()


def serialise_writes(engine: Engine, timeout_s: float) -> None:
    """Make transaction() queue the writers of this (SQLite) engine; waits beyond timeout_s fail as busy."""
    _write_locks[engine] = _WriteLock(timeout_s)


def _write_lock_for(session: Session) -> _WriteLock | None:
    if not _write_locks:
        return None
    bind = session.get_bind()  # an Engine, or the Connection a session was opened on (the intake writer's)
    return _write_locks.get(getattr(bind, "engine", bind))



def broken_unique_key(error: sa_exc.IntegrityError) -> str | None:
    """The unique key an INSERT ran into: its constraint's name on PostgreSQL, its "table.column, …"
    list on SQLite; None for any other integrity error (a foreign key, say)."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return getattr(getattr(orig, "diag", None), "constraint_name", None)
    prefix = "UNIQUE constraint failed: "
    message = str(orig)
    return message[len(prefix):] if message.startswith(prefix) else None

@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run one use case in one transaction: commit on success, roll back on any error."""
    write_lock = _write_lock_for(session)
    if write_lock is not None and not write_lock.lock.acquire(timeout=write_lock.timeout_s):
        raise DatabaseUnavailable("database is locked: too many writers waiting")
    try:
        yield session
        session.commit()
    except UNAVAILABLE_ERRORS as error:
        session.rollback()
        raise DatabaseUnavailable(str(error.orig) if getattr(error, "orig", None) else str(error)) from error
    except BaseException:
        session.rollback()
        raise
    finally:
        if write_lock is not None:
            write_lock.lock.release()


@contextmanager
def reading(session: Session) -> Iterator[Session]:
    """Run read-only queries; database outages become DatabaseUnavailable."""
    try:
        yield session
    except UNAVAILABLE_ERRORS as error:
        session.rollback()
        raise DatabaseUnavailable(str(error)) from error
    finally:
        # End the read transaction so SQLite readers do not pin old WAL snapshots.
        session.rollback()
