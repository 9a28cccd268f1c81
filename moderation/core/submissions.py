"""submit_comment(): check, score, decide and store new comments with their first decision and event."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Callable

from sqlalchemy.orm import Session

from moderation.core.idempotency import StoredResponse, fingerprint, look_up_key
from moderation.core.intake_writes import AcceptedComment, write_batch
from moderation.core.models import Site
from moderation.core.policy import PolicySettings, Scores
from moderation.core.scoring import score_batch, score_submission, scores_in_batches
from moderation.errors import ModerationError


@dataclass(frozen=True)
class IntakeSettings:
    policy: PolicySettings
    flood_interval: dt.timedelta
    scoring_timeout_s: float


@dataclass(frozen=True)
class IdempotentResponse:
    """The key, the request's fingerprint and how to render the response: the key is stored with
    that response in the transaction that stores the comment (idempotency.KeysInBatch)."""

    key: str
    fingerprint: str
    ttl: dt.timedelta
    render: Callable[[AcceptedComment], tuple[int, str]]


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


class WriterClosed(Exception):
    """The group-commit writer stopped before it took this submission; nothing was written."""


@dataclass(frozen=True)
class Submission:
    """A comment checked for shape and scored, ready to be written (no database work done yet)."""

    site: Site
    data: dict
    digest: str
    scores: Scores | None
    unscored_reason: str | None
    policy: PolicySettings
    now: dt.datetime
    idempotent: IdempotentResponse | None = None
    # Set when the scoring is left to the writer, with the others of its batch (score_deferred).
    deferred_scorer: object = None


def prepare(site: Site, data: dict, *, scorer, settings: IntakeSettings, now: dt.datetime,
            idempotent: IdempotentResponse | None = None, defer_scoring: bool = False) -> Submission:
    """CPU only, before any transaction: a slow model never holds a connection or SQLite's write lock.

    With `defer_scoring`, a scorer that scores batches is only noted: the writer scores the
    whole batch at once before its transaction (score_deferred)."""
    policy = replace(settings.policy, allow_list_auto_approve=site.allow_list_auto_approve)
    digest = content_hash(data["content"])
    if defer_scoring and scores_in_batches(scorer):
        return Submission(site, data, digest, None, None, policy, now, idempotent, deferred_scorer=scorer)
    scores, unscored_reason = score_submission(
        scorer, data["content"], data["author_name"], data.get("author_url"), settings.scoring_timeout_s
    )
    return Submission(site, data, digest, scores, unscored_reason, policy, now, idempotent)


def score_deferred(batch: list[Submission], timeout_s: float) -> list[Submission]:
    """The batch with the scores of the submissions whose scoring was deferred, in one call per scorer."""
    by_scorer: dict[int, list[int]] = {}
    for index, submission in enumerate(batch):
        if submission.deferred_scorer is not None:
            by_scorer.setdefault(id(submission.deferred_scorer), []).append(index)
    if not by_scorer:
        return batch
    scored = list(batch)
    for indexes in by_scorer.values():
        scorer = batch[indexes[0]].deferred_scorer
        requests = [(batch[i].data["content"], batch[i].data["author_name"], batch[i].data.get("author_url"))
                    for i in indexes]
        for index, (scores, unscored_reason) in zip(indexes, score_batch(scorer, requests, timeout_s)):
            scored[index] = replace(batch[index], scores=scores, unscored_reason=unscored_reason, deferred_scorer=None)
    return scored


def submit_comment(
    session: Session,
    site: Site,
    data: dict,
    *,
    scorer,
    settings: IntakeSettings,
    now: dt.datetime,
    idempotent: IdempotentResponse | None = None,
    writer: Callable[[Submission], AcceptedComment] | None = None,
) -> AcceptedComment:
    """Accept a comment: it is committed (with its decision and event) before this returns.

    `writer` is a group-commit writer (moderation.intake_writer) when the process runs one: it
    scores its batch before writing it, so a scorer that scores batches is left to it; otherwise
    the comment is scored and written in its own transaction on `session`."""
    submission = prepare(site, data, scorer=scorer, settings=settings, now=now, idempotent=idempotent,
                         defer_scoring=writer is not None)
    if writer is not None:
        try:
            return writer(submission)
        except WriterClosed:
            pass  # the writer stopped meanwhile: write it here, as without one
    (submission,) = score_deferred([submission], settings.scoring_timeout_s)
    (result,) = write_batch(session, [submission], settings.flood_interval)
    if isinstance(result, ModerationError):
        raise result
    return result


@dataclass(frozen=True)
class Outcome:
    """Either the comment just accepted, or the stored first response to replay."""

    comment: AcceptedComment | None = None
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
    render: Callable[[AcceptedComment], tuple[int, str]],
    writer: Callable[[Submission], AcceptedComment] | None = None,
) -> Outcome:
    """submit_comment() behind an optional Idempotency-Key (Stripe semantics, scoped per site)."""
    if idempotency_key is None:
        return Outcome(comment=submit_comment(session, site, data, scorer=scorer, settings=settings, now=now,
                                              writer=writer))
    print_ = fingerprint(raw_payload)
    stored = look_up_key(session, site.id, idempotency_key, print_, now, ttl)
    if stored is not None:
        return Outcome(replay=stored)
    # Nothing to release if this fails: the key is stored only with the comment.
    comment = submit_comment(
        session, site, data, scorer=scorer, settings=settings, now=now,
        idempotent=IdempotentResponse(idempotency_key, print_, ttl, render), writer=writer,
    )
    return Outcome(comment=comment)
