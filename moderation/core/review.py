"""Moderators' decisions on comments, single and bulk: each a status transition, a Decision and an event."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core import outbox
from moderation.core.db import transaction
from moderation.core.models import Comment, Decision, Moderator, Report, Site
from moderation.core.reasons import REJECTION_REASONS, author_text
from moderation.core.status import ALLOWED_TRANSITIONS, CommentStatus, transition
from moderation.errors import Forbidden, InvalidReason, InvalidTransition, NotFound, StaleVersion
from moderation.metrics import DECISIONS

APPROVED, PENDING, REJECTED, SPAM = (CommentStatus.APPROVED, CommentStatus.PENDING,
                                     CommentStatus.REJECTED, CommentStatus.SPAM)
ACTIONS = ("approve", "reject", "spam", "not_spam", "restore")
DECIDING_ROLES = frozenset({"admin", "moderator"})
CLAIM_MINUTES = 5


# Called inside each decision's transaction with (session, comments, action, reason, now). The
# learning module registers here to turn decisions into labels; core does not import it.
DECISION_LISTENERS: list[Callable] = []


def _tell_listeners(session: Session, comments: list[Comment], action: str, reason: str | None,
                    now: dt.datetime) -> None:
    for listener in DECISION_LISTENERS:
        listener(session, comments, action, reason, now)


def target_status(action: str, current: CommentStatus) -> CommentStatus:
    """Where an action takes a comment from its current status."""
    targets = {"approve": APPROVED, "reject": REJECTED, "spam": SPAM, "not_spam": APPROVED, "restore": PENDING}
    if action not in targets:
        raise InvalidReason(f"unknown action {action!r}", action=action)
    if action == "not_spam" and current is not SPAM:
        raise InvalidTransition(current.value, "not_spam")
    return targets[action]


@dataclass(frozen=True)
class DecisionRequest:
    action: str
    reason: str | None = None
    note: str | None = None
    expected_version: int | None = None


def _check(moderator: Moderator, request: DecisionRequest) -> None:
    if moderator.role not in DECIDING_ROLES or not moderator.active:
        raise Forbidden("this account may not decide on comments")
    if request.action == "reject":
        if request.reason not in REJECTION_REASONS:
            raise InvalidReason("a rejection needs one of the reason codes", reasons=list(REJECTION_REASONS))
    elif request.reason is not None and request.reason not in REJECTION_REASONS:
        raise InvalidReason("unknown reason code", reasons=list(REJECTION_REASONS))


def _stale(session: Session, comment: Comment) -> StaleVersion:
    last = session.scalar(
        sa.select(Decision).where(Decision.comment_id == comment.id).order_by(Decision.id.desc()).limit(1)
    )
    who = last.actor if last else "?"
    when = last.created_at if last else comment.updated_at
    return StaleVersion(
        f"already {comment.status.value} by {who} at {when:%H:%M}",
        status=comment.status.value, actor=who, at=when.isoformat(), version=comment.version,
    )


def _snapshot(comment: Comment, status: CommentStatus, version: int) -> SimpleNamespace:
    """What an event needs of a comment after the move, without touching the ORM object."""
    fields = ("id", "site_id", "article_id", "article_url", "parent_id", "author_name", "detected_language",
              "language", "created_at")
    return SimpleNamespace(**{name: getattr(comment, name) for name in fields}, status=status, version=version)


def _events(moved: list[tuple[Comment, CommentStatus, int]], before: CommentStatus, after: CommentStatus,
            request: DecisionRequest, reason: str | None, sites: dict[int, Site], parents: dict[int, str]):
    for comment, _status, version in moved:
        snapshot = _snapshot(comment, after, version)
        decision = {"action": request.action, "from_status": before.value, "reason_code": reason,
                    "note_to_author": request.note}
        if after is APPROVED:
            yield "comment.approved", snapshot, {"decision": decision}
            if comment.parent_id is not None and comment.parent_id in parents:
                parent = {"id": comment.parent_id, "author_name": parents[comment.parent_id]}
                yield "comment.reply_published", snapshot, {"decision": decision, "parent": parent}
        elif after is REJECTED:
            decision["reason_text"] = author_text(reason or "other", sites[comment.site_id].language)
            yield "comment.rejected", snapshot, {"decision": decision}
        elif after is SPAM:
            yield "comment.spam", snapshot, {"decision": decision}
        elif after is PENDING:
            yield "comment.restored", snapshot, {"decision": decision}


def _move(session: Session, comments: list[Comment], sites: dict[int, Site], moderator: Moderator,
          request: DecisionRequest, now: dt.datetime) -> tuple[list[int], list[dict]]:
    """Apply one decision to comments with a handful of statements, whatever their number.

    Returns the ids moved and the ones skipped with why. The UPDATE only touches rows still at the
    version read: of two moderators on one version, exactly one wins.
    """
    skipped, groups = [], {}
    for comment in comments:
        try:
            after = transition(comment.status, target_status(request.action, comment.status))
        except InvalidTransition as error:
            skipped.append({"id": comment.id, "why": error.code, "status": comment.status.value})
            continue
        groups.setdefault((comment.status, after), []).append(comment)
    done: list[int] = []
    reason = request.reason
    for (before, after), group in groups.items():
        by_id = {c.id: c for c in group}
        published_at = now if after is APPROVED else (None if before is APPROVED else Comment.published_at)
        rows = session.execute(
            sa.update(Comment)
            .where(sa.tuple_(Comment.id, Comment.version).in_([(c.id, c.version) for c in group]))
            .values(status=after, version=Comment.version + 1, updated_at=now, claimed_by=None, claimed_until=None,
                    published_at=published_at, reported_at=None if after is not APPROVED else Comment.reported_at)
            .returning(Comment.id, Comment.version)
            .execution_options(synchronize_session=False)
        ).all()
        moved = [(by_id[row.id], after, row.version) for row in rows]
        for comment_id in set(by_id) - {row.id for row in rows}:
            skipped.append({"id": comment_id, "why": StaleVersion.code})
        if not moved:
            continue
        reason = request.reason or ("spam" if after is SPAM else None)
        session.connection().execute(Decision.__table__.insert(), [dict(
            comment_id=c.id, actor=moderator.email, moderator_id=moderator.id, action=request.action,
            from_status=before.value, to_status=after.value, reason_code=reason, note_to_author=request.note,
            reasons=c.reasons or [], spam_score=c.spam_score, abuse_score=c.abuse_score,
            model_version=c.model_version, created_at=now) for c, _s, _v in moved])
        _tell_listeners(session, [c for c, _s, _v in moved], request.action, reason, now)
        ids = [c.id for c, _s, _v in moved]
        if before is APPROVED or after is not APPROVED:
            # Reports are about the published version; any other move settles them.
            session.execute(sa.update(Report).where(Report.comment_id.in_(ids), Report.dismissed_at.is_(None))
                            .values(dismissed_at=now))
        parent_ids = {c.parent_id for c, _s, _v in moved if c.parent_id is not None}
        parents = dict(session.execute(sa.select(Comment.id, Comment.author_name)
                                       .where(Comment.id.in_(parent_ids))).all()) if parent_ids else {}
        outbox.record_many(session, list(_events(moved, before, after, request, reason, sites, parents)), now)
        DECISIONS.labels(action=request.action).inc(len(moved))
        done.extend(ids)
    return done, skipped


def decide_comment(session: Session, comment_id: int, request: DecisionRequest, *, moderator: Moderator,
                   now: dt.datetime) -> Comment:
    """One moderator's decision on one comment, refused if someone else changed it first."""
    _check(moderator, request)
    with transaction(session):
        comment = session.get(Comment, comment_id)
        if comment is None:
            raise NotFound("no such comment", comment_id=comment_id)
        if request.expected_version is not None and request.expected_version != comment.version:
            raise _stale(session, comment)
        transition(comment.status, target_status(request.action, comment.status))
        done, _skipped = _move(session, [comment], {comment.site_id: session.get(Site, comment.site_id)},
                               moderator, request, now)
        if not done:
            session.expire(comment)
            raise _stale(session, comment)
    session.refresh(comment)
    return comment


@dataclass
class BulkSummary:
    done: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def decide_many(session: Session, comment_ids: list[int], request: DecisionRequest, *, moderator: Moderator,
                now: dt.datetime) -> BulkSummary:
    """The same decision on many comments in one transaction; those it cannot apply are skipped, with why."""
    _check(moderator, request)
    ids = list(dict.fromkeys(comment_ids))
    with transaction(session):
        comments = list(session.scalars(sa.select(Comment).where(Comment.id.in_(ids))))
        sites = {s.id: s for s in session.scalars(sa.select(Site).where(Site.id.in_({c.site_id for c in comments})))}
        done, skipped = _move(session, comments, sites, moderator, request, now)
    found = {c.id for c in comments}
    skipped += [{"id": i, "why": "not-found"} for i in ids if i not in found]
    order = {comment_id: n for n, comment_id in enumerate(ids)}
    session.expire_all()
    return BulkSummary(sorted(done, key=order.get), sorted(skipped, key=lambda s: order[s["id"]]))


def claim_comment(session: Session, comment_id: int, *, moderator: Moderator, now: dt.datetime,
                  minutes: int = CLAIM_MINUTES) -> bool:
    """Claim a comment for a few minutes so colleagues skip it; False if someone else holds it."""
    with transaction(session):
        result = session.execute(
            sa.update(Comment)
            .where(Comment.id == comment_id,
                   sa.or_(Comment.claimed_by.is_(None), Comment.claimed_by == moderator.id, Comment.claimed_until < now))
            .values(claimed_by=moderator.id, claimed_until=now + dt.timedelta(minutes=minutes))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def dismiss_reports(session: Session, comment_id: int, *, moderator: Moderator, now: dt.datetime) -> Comment:
    """Keep a reported comment published: its reports are settled and it leaves the reported queue."""
    _check(moderator, DecisionRequest("approve"))
    with transaction(session):
        comment = session.get(Comment, comment_id)
        if comment is None:
            raise NotFound("no such comment", comment_id=comment_id)
        session.execute(sa.update(Report).where(Report.comment_id == comment_id, Report.dismissed_at.is_(None))
                        .values(dismissed_at=now))
        comment.reported_at = None
        comment.version += 1
        comment.updated_at = now
        session.add(Decision(
            comment_id=comment.id, actor=moderator.email, moderator_id=moderator.id, action="dismiss_reports",
            from_status=comment.status.value, to_status=comment.status.value, reasons=[], created_at=now,
            spam_score=comment.spam_score, abuse_score=comment.abuse_score, model_version=comment.model_version,
        ))
        # Keeping a reported comment published says it is acceptable.
        _tell_listeners(session, [comment], "dismiss_reports", None, now)
    return comment
