"""record(): add an event to the outbox inside the caller's transaction; never commits, no I/O."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from moderation.core.driver_statements import DriverInserts
from moderation.core.models import Comment, OutboxEvent, new_event_id


def comment_event_data(comment: Comment) -> dict:
    """What every comment event carries; the author's e-mail is added at delivery, per endpoint."""
    return {
        "comment": {
            "id": comment.id,
            "article_id": comment.article_id,
            "article_url": comment.article_url,
            "parent_id": comment.parent_id,
            "status": comment.status.value,
            "version": comment.version,
            "author_name": comment.author_name,
            "language": comment.detected_language or comment.language,
            "created_at": comment.created_at.isoformat(),
        }
    }


# Plain INSERTs on the driver's cursor (intake is hot; no unit-of-work bookkeeping).
EVENT_COLUMNS = ("id", "site_id", "type", "comment_id", "payload", "created_at", "dispatched_at")
_INSERT_EVENTS = DriverInserts(OutboxEvent.__table__, EVENT_COLUMNS)

# Set on the session when an event is written, so a worker in this process can wake at commit.
WAKE_FLAG = "moderation.outbox_written"


def record(session: Session, event_type: str, comment: Comment, now: dt.datetime, **extra) -> str:
    """Write one event; return its id."""
    return _write(session, [(event_type, comment, extra)], now)[0]


def record_many(session: Session, events: list[tuple[str, object, dict]], now: dt.datetime | None) -> None:
    """Write several events (type, comment-like, extra data) with one multi-row INSERT.

    With `now` None each event is dated by its comment's created_at (a batch of new comments)."""
    _write(session, events, now)


def event_rows(events: list[tuple[str, object, dict]], now: dt.datetime | None) -> list[dict]:
    """The outbox rows (EVENT_COLUMNS) of these events, for a caller that inserts them itself;
    it must then call written()."""
    rows = []
    for event_type, comment, extra in events:
        data = comment_event_data(comment)
        data.update(extra)
        rows.append(dict(id=new_event_id(), site_id=comment.site_id, type=event_type, comment_id=comment.id,
                         payload=data, created_at=now or comment.created_at, dispatched_at=None))
    return rows


def written(session: Session) -> None:
    """Events were added in this session's transaction: wake this process's webhook worker at commit."""
    session.info[WAKE_FLAG] = True


def _write(session: Session, events: list[tuple[str, object, dict]], now: dt.datetime | None) -> list[str]:
    if not events:
        return []
    rows = event_rows(events, now)
    connection = session.connection()
    _INSERT_EVENTS.run(connection, rows)
    written(session)
    return [row["id"] for row in rows]
