"""Readers' reports: a published comment enough readers report goes to the reported queue."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core import outbox
from moderation.core.db import transaction
from moderation.core.models import Comment, Report, Site
from moderation.core.queries import MAX_ID
from moderation.core.status import CommentStatus
from moderation.errors import InvalidReason, NotFound

REPORT_REASONS = ("spam", "insult", "hate", "threat", "off_topic", "personal_data", "misinformation", "other")


def report_comment(session: Session, site: Site, comment_id: int, *, reason: str, detail: str | None,
                   reporter_ip: str | None, now: dt.datetime) -> tuple[Comment, bool]:
    """Record a report; return the comment and whether this report sent it to the reported queue."""
    if reason not in REPORT_REASONS:
        raise InvalidReason("unknown report reason", reasons=list(REPORT_REASONS))
    if not 1 <= comment_id <= MAX_ID:
        raise NotFound("no such comment", comment_id=comment_id)
    with transaction(session):
        comment = session.get(Comment, comment_id)
        # Readers only see published comments; others are not theirs to report.
        if comment is None or comment.site_id != site.id or comment.status is not CommentStatus.APPROVED:
            raise NotFound("no such published comment", comment_id=comment_id)
        session.add(Report(comment_id=comment.id, reason=reason, detail=detail, reporter_ip=reporter_ip,
                           created_at=now))
        session.flush()
        active = session.scalar(
            sa.select(sa.func.count(Report.id)).where(Report.comment_id == comment.id, Report.dismissed_at.is_(None))
        )
        threshold = session.get(Site, comment.site_id).report_threshold
        entered = comment.reported_at is None and active >= threshold
        if entered:
            comment.reported_at = now
            comment.version += 1
            comment.updated_at = now
            outbox.record(session, "comment.reported", comment, now, reports=active)
    return comment, entered
