"""Read side for moderators: queues with counts, keyset pages, search, a comment with its context."""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading
from moderation.core.models import Comment, Decision, Report
from moderation.core.status import CommentStatus
from moderation.errors import FieldErrors, NotFound

QUEUES = ("pending", "reported", "spam", "approved", "rejected")
# Fixed thresholds for the queue filters when no model says otherwise.
DEFAULT_FLAG = 0.5


@dataclass(frozen=True)
class QueueFilter:
    likely_spam: bool = False
    likely_abusive: bool = False
    language: str | None = None
    article_id: str | None = None
    text: str | None = None
    author: str | None = None
    email: str | None = None
    ip: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    site_id: int | None = None
    spam_flag: float = DEFAULT_FLAG
    abuse_flag: float = DEFAULT_FLAG


@dataclass
class QueuePage:
    comments: list[Comment]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def _queue_condition(name: str):
    if name == "reported":
        # reported_at is only ever set on published comments and cleared by any move out of
        # "approved" (core.review), so it alone selects the queue, through its own index.
        return Comment.reported_at.is_not(None)
    if name not in QUEUES:
        raise NotFound("no such queue", queue=name)
    return Comment.status == CommentStatus(name)


def _filters(flt: QueueFilter) -> list:
    conditions = []
    if flt.site_id is not None:
        conditions.append(Comment.site_id == flt.site_id)
    if flt.likely_spam:
        conditions.append(Comment.spam_score >= flt.spam_flag)
    if flt.likely_abusive:
        conditions.append(Comment.abuse_score >= flt.abuse_flag)
    if flt.language:
        conditions.append(sa.or_(Comment.detected_language == flt.language, Comment.language == flt.language))
    if flt.article_id:
        conditions.append(Comment.article_id == flt.article_id)
    if flt.text:
        conditions.append(Comment.content.ilike(f"%{_escape_like(flt.text)}%", escape="\\"))
    if flt.author:
        conditions.append(Comment.author_name.ilike(f"%{_escape_like(flt.author)}%", escape="\\"))
    if flt.email:
        conditions.append(Comment.author_email == flt.email.strip())
    if flt.ip:
        conditions.append(Comment.author_ip == flt.ip.strip())
    if flt.since:
        conditions.append(Comment.created_at >= flt.since)
    if flt.until:
        conditions.append(Comment.created_at < flt.until)
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor(comment: Comment) -> str:
    raw = json.dumps([comment.risk, comment.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[float, int]:
    try:
        risk, comment_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(risk), int(comment_id)
    except (ValueError, TypeError) as error:
        raise FieldErrors({"cursor": ["invalid"]}) from error


def list_queue(session: Session, name: str, flt: QueueFilter = QueueFilter(), *, cursor: str | None = None,
               limit: int = 25, skip_claimed_by_others: int | None = None, now: dt.datetime | None = None,
               with_counts: bool = True) -> QueuePage:
    """A page of a queue, riskiest first then newest, by keyset (never OFFSET)."""
    conditions = [_queue_condition(name), *_filters(flt)]
    if skip_claimed_by_others is not None and now is not None:
        conditions.append(sa.or_(Comment.claimed_by.is_(None), Comment.claimed_by == skip_claimed_by_others,
                                 Comment.claimed_until < now))
    if cursor:
        risk, last_id = _decode(cursor)
        # A row-value comparison lets both databases range-scan the (status, risk, id) index.
        conditions.append(sa.tuple_(Comment.risk, Comment.id) < sa.tuple_(sa.literal(risk), sa.literal(last_id)))
    with reading(session):
        rows = list(session.scalars(sa.select(Comment).where(*conditions)
                                    .order_by(Comment.risk.desc(), Comment.id.desc()).limit(limit + 1)))
        counts = count_queues(session, flt) if with_counts else {}
        for row in rows:
            session.expunge(row)
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(rows, _cursor(rows[-1]) if more and rows else None, counts)


# Counting a million-row queue on every page view costs more than the page; past this many
# the console says "1 000+" (each count reads at most this many index entries).
COUNT_CAP = 1_000


def count_queues(session: Session, flt: QueueFilter = QueueFilter()) -> dict[str, int]:
    """Comments in each queue, exact up to COUNT_CAP, COUNT_CAP + 1 meaning "more than COUNT_CAP"."""
    base = _filters(QueueFilter(site_id=flt.site_id))
    counts = {}
    for name in QUEUES:
        capped = sa.select(Comment.id).where(*base, _queue_condition(name)).limit(COUNT_CAP + 1).subquery()
        counts[name] = session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0
    return counts


def count_queues_exact(session: Session) -> dict[str, int]:
    """Exact counts for metrics (a full index scan: fine every scrape, too slow for every page)."""
    by_status = dict(session.execute(sa.select(Comment.status, sa.func.count(Comment.id)).group_by(Comment.status)).all())
    counts = {status.value: by_status.get(status, 0) for status in CommentStatus}
    counts["reported"] = session.scalar(sa.select(sa.func.count(Comment.id)).where(_queue_condition("reported"))) or 0
    return counts


def oldest_pending(session: Session, site_id: int | None = None) -> dt.datetime | None:
    conditions = [Comment.status == CommentStatus.PENDING]
    if site_id is not None:
        conditions.append(Comment.site_id == site_id)
    with reading(session):
        return session.scalar(sa.select(sa.func.min(Comment.created_at)).where(*conditions))


@dataclass
class CommentContext:
    comment: Comment
    parent: Comment | None
    history: list[Decision]
    reports: list[Report]
    author: dict


def author_history(session: Session, site_id: int, email: str) -> dict:
    rows = session.execute(sa.select(Comment.status, sa.func.count(Comment.id), sa.func.min(Comment.created_at))
                           .where(Comment.site_id == site_id, Comment.author_email == email)
                           .group_by(Comment.status)).all()
    counts = {status.value: 0 for status in CommentStatus}
    first_seen = None
    for status, count, first in rows:
        counts[CommentStatus(status).value] = count
        first = first.replace(tzinfo=dt.timezone.utc) if first is not None and first.tzinfo is None else first
        first_seen = first if first_seen is None or (first and first < first_seen) else first_seen
    return {"counts": counts, "first_seen": first_seen}


def get_comment_context(session: Session, comment_id: int) -> CommentContext:
    """A comment with what a moderator needs beside it: parent, history, reports, the author's record."""
    with reading(session):
        comment = session.get(Comment, comment_id) if 1 <= comment_id <= 2**31 - 1 else None
        if comment is None:
            raise NotFound("no such comment", comment_id=comment_id)
        parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
        history = list(session.scalars(sa.select(Decision).where(Decision.comment_id == comment.id).order_by(Decision.id)))
        reports = list(session.scalars(sa.select(Report).where(Report.comment_id == comment.id).order_by(Report.id)))
        author = author_history(session, comment.site_id, comment.author_email)
        for row in [comment, parent, *history, *reports]:
            if row is not None:
                session.expunge(row)
    return CommentContext(comment, parent, history, reports, author)
