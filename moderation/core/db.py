"""transaction(): the only place that commits; database failures become DatabaseUnavailable."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from moderation.errors import DatabaseUnavailable

# Errors that mean "the database is not there or too busy", not "your data is wrong".
UNAVAILABLE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run one use case in one transaction: commit on success, roll back on any error."""
    try:
        yield session
        session.commit()
    except UNAVAILABLE_ERRORS as error:
        session.rollback()
        raise DatabaseUnavailable(str(error.orig) if getattr(error, "orig", None) else str(error)) from error
    except BaseException:
        session.rollback()
        raise


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
