"""Read side of the dashboard: backlog, oldest waiting comment, time to decision, decisions per moderator."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading
from moderation.core.models import Comment, Decision
from moderation.core.queues import count_queues, oldest_pending

# Actions a person takes on a comment's status; "received" and automatic moves are not reviews.
REVIEW_ACTIONS = ("approve", "reject", "spam", "not_spam")


@dataclass
class DayDelay:
    day: dt.date
    decided: int
    p50_minutes: float | None
    p90_minutes: float | None


@dataclass
class Dashboard:
    backlog: dict[str, int]
    oldest_pending: dt.datetime | None
    delays: list[DayDelay]
    per_moderator: list[tuple[str, int]]


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the value a moderator actually saw, not an interpolation."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[rank - 1]


def get_dashboard(session: Session, *, now: dt.datetime, days: int = 14) -> Dashboard:
    since = (now - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    backlog_counts = None
    with reading(session):
        backlog_counts = count_queues(session)
        first_review = (sa.select(Decision.comment_id, sa.func.min(Decision.created_at).label("decided_at"))
                        .where(Decision.moderator_id.is_not(None), Decision.action.in_(REVIEW_ACTIONS))
                        .group_by(Decision.comment_id).subquery())
        pairs = session.execute(
            sa.select(Comment.created_at, first_review.c.decided_at)
            .join(first_review, first_review.c.comment_id == Comment.id)
            .where(first_review.c.decided_at >= since)
        ).all()
        per_moderator = session.execute(
            sa.select(Decision.actor, sa.func.count(Decision.id))
            .where(Decision.moderator_id.is_not(None), Decision.created_at >= since)
            .group_by(Decision.actor).order_by(sa.func.count(Decision.id).desc(), Decision.actor)
        ).all()
    by_day: dict[dt.date, list[float]] = {}
    for created, decided in pairs:
        decided = decided if decided.tzinfo else decided.replace(tzinfo=dt.timezone.utc)
        created = created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)
        by_day.setdefault(decided.date(), []).append(max(0.0, (decided - created).total_seconds() / 60))
    delays = []
    for offset in range(days):
        day = since.date() + dt.timedelta(days=offset)
        values = sorted(by_day.get(day, []))
        delays.append(DayDelay(day, len(values), _percentile(values, 0.5), _percentile(values, 0.9)))
    return Dashboard(backlog_counts, oldest_pending(session), delays, [(actor, n) for actor, n in per_moderator])
