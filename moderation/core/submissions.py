"""submit_comment(): check, score, decide and store a new comment with its first decision and event."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from moderation.core import outbox, rules
from moderation.core.db import transaction
from moderation.core.idempotency import StoredResponse, claim_key, complete_key, fingerprint, release_key
from moderation.core.models import Comment, Decision, Site
from moderation.core.policy import PolicySettings, decide
from moderation.core.scoring import score_submission
from moderation.core.status import CommentStatus
from moderation.errors import DuplicateComment, FloodDetected, InvalidParent
from moderation.metrics import COMMENTS_RECEIVED


@dataclass(frozen=True)
class IntakeSettings:
    policy: PolicySettings
    flood_interval: dt.timedelta
    scoring_timeout_s: float


@dataclass(frozen=True)
class IdempotentResponse:
    """The key to complete and how to render the response, so both commit with the comment."""

    key: str
    render: Callable[[Comment], tuple[int, str]]


# Built once: statements with bound parameters are compiled once and cached by SQLAlchemy.
_INSERT_COMMENT = Comment.__table__.insert().returning(Comment.__table__.c.id)
_INSERT_DECISION = Decision.__table__.insert()


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def _check_parent(session: Session, site: Site, article_id: str, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Comment, parent_id)
    if parent is None or parent.site_id != site.id or parent.article_id != article_id:
        raise InvalidParent("the parent comment does not belong to this article", parent_id=parent_id)


_COMMENTS = Comment.__table__.c
_LATEST_BY_EMAIL = sa.select(sa.func.max(_COMMENTS.created_at)).where(
    _COMMENTS.site_id == sa.bindparam("site_id"), _COMMENTS.author_email == sa.bindparam("email"),
    _COMMENTS.created_at > sa.bindparam("since", type_=_COMMENTS.created_at.type))
# Two indexed lookups joined by OR: (site, e-mail, time) and (site, IP, time).
_LATEST_BY_EMAIL_OR_IP = sa.select(sa.func.max(_COMMENTS.created_at)).where(
    _COMMENTS.site_id == sa.bindparam("site_id"),
    sa.or_(_COMMENTS.author_email == sa.bindparam("email"), _COMMENTS.author_ip == sa.bindparam("ip")),
    _COMMENTS.created_at > sa.bindparam("since", type_=_COMMENTS.created_at.type))


def _check_flood(session: Session, site: Site, data: dict, now: dt.datetime, interval: dt.timedelta) -> None:
    if interval.total_seconds() <= 0:
        return
    # A prebuilt Core statement: building the ORM query each time was a fifth of an intake's cost.
    params = {"site_id": site.id, "email": data["author_email"], "since": now - interval}
    statement = _LATEST_BY_EMAIL
    if data.get("author_ip"):
        params["ip"] = data["author_ip"]
        statement = _LATEST_BY_EMAIL_OR_IP
    latest = session.connection().execute(statement, params).scalar()
    if latest is not None:
        if latest.tzinfo is None:  # aggregate results bypass the column type on some drivers
            latest = latest.replace(tzinfo=dt.timezone.utc)
        wait = max(1, int((latest + interval - now).total_seconds() + 0.999))
        raise FloodDetected(retry_after=wait)


def submit_comment(
    session: Session,
    site: Site,
    data: dict,
    *,
    scorer,
    settings: IntakeSettings,
    now: dt.datetime,
    idempotent: IdempotentResponse | None = None,
) -> Comment:
    """Accept a comment: it is committed (with its decision and event) before this returns."""
    digest = content_hash(data["content"])
    # CPU only, before the transaction: a slow model never holds a connection or SQLite's write lock.
    scores, unscored_reason = score_submission(
        scorer, data["content"], data["author_name"], data.get("author_url"), settings.scoring_timeout_s
    )
    policy = replace(settings.policy, allow_list_auto_approve=site.allow_list_auto_approve)
    try:
        # Checks and writes in one transaction on one connection: a separate read transaction cost a
        # second pool checkout, and on SQLite a second connection whose page cache is cold.
        with transaction(session):
            _check_parent(session, site, data["article_id"], data.get("parent_id"))
            _check_flood(session, site, data, now, settings.flood_interval)
            signals = rules.evaluate(session, site, data)
            verdict = decide(scores, policy, unscored_reason, signals)
            values = dict(
                site_id=site.id, content_hash=digest, status=verdict.status, reasons=verdict.reasons, version=1,
                created_at=now, updated_at=now, published_at=now if verdict.status is CommentStatus.APPROVED else None,
                unscored_reason=unscored_reason, risk=0.5, **data,
            )
            if scores is not None:
                values.update(spam_score=scores.spam, abuse_score=scores.abuse, detected_language=scores.language,
                              model_version=scores.model_version, explanation=scores.explanation,
                              risk=max(scores.spam, scores.abuse))
            # Plain INSERTs: the ORM's unit of work doubled the cost of intake (bench/intake.py).
            connection = session.connection()
            comment_id = connection.execute(_INSERT_COMMENT, values).scalar_one()
            comment = Comment(id=comment_id, **values)
            connection.execute(_INSERT_DECISION, dict(
                comment_id=comment_id, actor="system", action="received", from_status=None,
                to_status=verdict.status.value, reason_code=verdict.reason_code, reasons=verdict.reasons,
                spam_score=values.get("spam_score"), abuse_score=values.get("abuse_score"),
                model_version=values.get("model_version"), created_at=now, moderator_id=None, note_to_author=None,
            ))
            outbox.record(session, "comment.received", comment, now)
            if idempotent is not None:
                status, body = idempotent.render(comment)
                complete_key(session, site.id, idempotent.key, status, body)
    except sa_exc.IntegrityError as error:
        # The unique constraint is the duplicate check: it also settles two identical comments at once.
        if "uq_comment_duplicate" in str(error.orig) or "content_hash" in str(error.orig):
            raise DuplicateComment("the same author already posted this comment on this article") from error
        raise
    COMMENTS_RECEIVED.labels(status=verdict.status.value).inc()
    return comment


@dataclass(frozen=True)
class Outcome:
    """Either the comment just accepted, or the stored first response to replay."""

    comment: Comment | None = None
    replay: StoredResponse | None = None


def accept_comment(
    session: Session,
    site: Site,
    data: dict,
    *,
    scorer,
    settings: IntakeSettings,
    now: dt.datetime,
    idempotency_key: str | None,
    raw_payload,
    ttl: dt.timedelta,
    render: Callable[[Comment], tuple[int, str]],
) -> Outcome:
    """submit_comment() behind an optional Idempotency-Key (Stripe semantics, scoped per site)."""
    if idempotency_key is None:
        return Outcome(comment=submit_comment(session, site, data, scorer=scorer, settings=settings, now=now))
    stored = claim_key(session, site.id, idempotency_key, fingerprint(raw_payload), now, ttl)
    if stored is not None:
        return Outcome(replay=stored)
    try:
        comment = submit_comment(
            session, site, data, scorer=scorer, settings=settings, now=now,
            idempotent=IdempotentResponse(idempotency_key, render),
        )
    except BaseException:
        # Errors are not stored: a retry with the same key runs again (a duplicate is still refused).
        release_key(session, site.id, idempotency_key)
        raise
    return Outcome(comment=comment)
