"""Moderators' decisions on comments, single and bulk: each a status transition, a Decision and an event."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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


def _apply(session: Session, comment: Comment, site: Site, moderator: Moderator, request: DecisionRequest,
           now: dt.datetime) -> None:
    """Move one locked-in comment; the caller holds the transaction."""
    before = comment.status
    after = transition(before, target_status(request.action, before))
    # A conditional UPDATE is the lock: of two moderators on one version, exactly one wins.
    result = session.execute(
        sa.update(Comment)
        .where(Comment.id == comment.id, Comment.version == comment.version)
        .values(status=after, version=Comment.version + 1, updated_at=now, claimed_by=None, claimed_until=None,
                published_at=now if after is APPROVED else (None if before is APPROVED else Comment.published_at),
                reported_at=None if after is not APPROVED else Comment.reported_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.expire(comment)
        raise _stale(session, comment)
    session.expire(comment)
    reason = request.reason or ("spam" if after is SPAM else None)
    session.add(Decision(
        comment_id=comment.id, actor=moderator.email, moderator_id=moderator.id, action=request.action,
        from_status=before.value, to_status=after.value, reason_code=reason, note_to_author=request.note,
        reasons=comment.reasons or [], spam_score=comment.spam_score, abuse_score=comment.abuse_score,
        model_version=comment.model_version, created_at=now,
    ))
    if before is APPROVED or after is not APPROVED:
        # Reports are about the published version; any other move settles them.
        session.execute(sa.update(Report).where(Report.comment_id == comment.id, Report.dismissed_at.is_(None))
                        .values(dismissed_at=now))
    _record_events(session, comment, site, before, after, request, reason, now)
    DECISIONS.labels(action=request.action).inc()


def _record_events(session, comment, site, before, after, request, reason, now) -> None:
    decision = {"action": request.action, "from_status": before.value, "reason_code": reason,
                "note_to_author": request.note}
    if after is APPROVED:
        outbox.record(session, "comment.approved", comment, now, decision=decision)
        if comment.parent_id is not None:
            parent = session.get(Comment, comment.parent_id)
            outbox.record(session, "comment.reply_published", comment, now, decision=decision,
                          parent={"id": parent.id, "author_name": parent.author_name})
    elif after is REJECTED:
        decision["reason_text"] = author_text(reason or "other", site.language)
        outbox.record(session, "comment.rejected", comment, now, decision=decision)
    elif after is SPAM:
        outbox.record(session, "comment.spam", comment, now, decision=decision)
    elif after is PENDING:
        outbox.record(session, "comment.restored", comment, now, decision=decision)


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
        _apply(session, comment, session.get(Site, comment.site_id), moderator, request, now)
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
    summary = BulkSummary()
    ids = list(dict.fromkeys(comment_ids))
    with transaction(session):
        comments = {c.id: c for c in session.scalars(sa.select(Comment).where(Comment.id.in_(ids)))}
        sites = {s.id: s for s in session.scalars(sa.select(Site).where(Site.id.in_({c.site_id for c in comments.values()})))}
        for comment_id in ids:
            comment = comments.get(comment_id)
            if comment is None:
                summary.skipped.append({"id": comment_id, "why": "not-found"})
                continue
            try:
                target = target_status(request.action, comment.status)
                if target not in ALLOWED_TRANSITIONS[comment.status]:
                    raise InvalidTransition(comment.status.value, target.value)
                _apply(session, comment, sites[comment.site_id], moderator, request, now)
            except (InvalidTransition, StaleVersion) as error:
                summary.skipped.append({"id": comment_id, "why": error.code, "status": comment.status.value})
            else:
                summary.done.append(comment_id)
    return summary


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
    return comment
