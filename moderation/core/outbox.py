"""record(): add an event to the outbox inside the caller's transaction; never commits, no I/O."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from moderation.core.driver_statements import DriverInserts, DriverSelect, DriverSelects
from moderation.core.models import Comment, OutboxEvent, Site, new_event_id


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


def _listened_events(sites: int) -> sa.Select:
    columns = Site.__table__.c
    site_ids = [sa.bindparam(f"site{index}", type_=columns.id.type) for index in range(sites)]
    # FOR SHARE (PostgreSQL; SQLite has one writer at a time anyway): a change of the sites'
    # endpoints, which updates these rows, commits either before this transaction reads them or
    # after it commits, so an event committed after an endpoint was added is never skipped.
    return sa.select(columns.id, columns.listened_events).where(columns.id.in_(site_ids)).with_for_update(read=True)


_LISTENED_EVENTS = DriverSelects(_listened_events)


def listened_events(connection: Connection, site_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """The event types some active webhook endpoint of each site wants (Site.listened_events), read in
    the caller's transaction: an endpoint committed before it gets the events written in it.

    (SQLite's intake writer reads them just before its INSERT, which is a transaction of its own:
    an endpoint committed in the microseconds between the two misses that batch's events.)"""
    query = listened_events_query(connection, site_ids)
    return listened_from_rows(query[0].run(connection, query[1]) if query else [])


def listened_events_query(connection: Connection, site_ids: Iterable[int]) -> tuple[DriverSelect, dict] | None:
    """listened_events() as a SELECT and its values, for a caller that runs it with others; None if no site."""
    site_ids = sorted(set(site_ids))
    if not site_ids:
        return None
    return _LISTENED_EVENTS(connection, len(site_ids)), {f"site{index}": site_id for index, site_id in enumerate(site_ids)}


_listened_changes = [0]  # how often a site's listened events were changed in this process


def note_listened_change() -> None:
    """A site's listened events are being changed in this process: intake writers holding them
    (sqlite_intake.held_lookups) read them again for their next batch."""
    _listened_changes[0] += 1


def listened_changes() -> int:
    return _listened_changes[0]


def listened_from_rows(rows: Iterable[tuple]) -> dict[int, frozenset[str]]:
    return {site_id: frozenset(event_types or ()) for site_id, event_types in rows}


def record(session: Session, event_type: str, comment: Comment, now: dt.datetime, **extra) -> str:
    """Write one event; return its id."""
    return _write(session, [(event_type, comment, extra)], now)[0]


def record_many(session: Session, events: list[tuple[str, object, dict]], now: dt.datetime | None) -> None:
    """Write several events (type, comment-like, extra data) with one multi-row INSERT.

    With `now` None each event is dated by its comment's created_at (a batch of new comments)."""
    _write(session, events, now)


def event_rows(events: list[tuple[str, object, dict]], now: dt.datetime | None,
               listened: dict[int, frozenset[str]]) -> list[dict]:
    """The outbox rows (EVENT_COLUMNS) of these events, for a caller that inserts them itself;
    it must then call written(). `listened` is listened_events() of their sites.

    An event of a type no endpoint of its site wants is dispatched as it is written: the relay
    would only have marked it so (one more write transaction competing with intake for SQLite's
    lock: 7 % of intake's throughput, bench/README.md "Twelfth session"). It stays in the outbox,
    with the others."""
    rows = []
    for event_type, comment, extra in events:
        data = comment_event_data(comment)
        data.update(extra)
        created_at = now or comment.created_at
        heard = event_type in listened.get(comment.site_id, ())
        rows.append(dict(id=new_event_id(), site_id=comment.site_id, type=event_type, comment_id=comment.id,
                         payload=data, created_at=created_at, dispatched_at=None if heard else created_at))
    return rows


def written(session: Session, rows: list[dict]) -> None:
    """These rows were added in this session's transaction: if any waits for the relay, wake this
    process's webhook worker at commit."""
    if any(row["dispatched_at"] is None for row in rows):
        session.info[WAKE_FLAG] = True


def _write(session: Session, events: list[tuple[str, object, dict]], now: dt.datetime | None) -> list[str]:
    if not events:
        return []
    connection = session.connection()
    rows = event_rows(events, now, listened_events(connection, (comment.site_id for _, comment, _ in events)))
    _INSERT_EVENTS.run(connection, rows)
    written(session, rows)
    return [row["id"] for row in rows]
