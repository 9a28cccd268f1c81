"""write_batch(): check and store prepared submissions, many per transaction, with few statements."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from moderation.core import outbox, postgres_intake, rules, sqlite_intake
from moderation.core.db import broken_unique_key, transaction
from moderation.core.driver_statements import DriverInserts
from moderation.core.flood_window import FloodWindow
from moderation.core.idempotency import KeysInBatch, is_key_conflict
from moderation.core.models import Comment, Decision, OutboxEvent, Site
from moderation.core.policy import decide
from moderation.core.status import CommentStatus
from moderation.errors import (DuplicateComment, FloodDetected, IdempotencyInFlight, IdempotencyMismatch, InvalidParent,
                               ModerationError)
from moderation.metrics import COMMENTS_RECEIVED

if TYPE_CHECKING:
    from moderation.core.submissions import Submission

_TABLE = Comment.__table__
_COLUMNS = _TABLE.c
_DUPLICATE_KEY = ("site_id", "article_id", "author_email", "content_hash")
_DUPLICATE_CONSTRAINT = "uq_comment_duplicate"  # models.Comment's UniqueConstraint on _DUPLICATE_KEY
_FIELDS = ("article_id", "author_name", "author_email", "content", "article_url", "article_title", "parent_id",
           "author_url", "author_ip", "author_user_agent", "referrer", "language")
_SCORE_COLUMNS = ("spam_score", "abuse_score", "detected_language", "model_version", "explanation")
_COMMENT_COLUMNS = ("site_id", "content_hash", "status", "reasons", "version", "created_at", "updated_at",
                    "published_at", "unscored_reason", "risk", *_FIELDS, *_SCORE_COLUMNS)
# ON CONFLICT DO NOTHING: the unique constraint is the duplicate check (it also settles two identical
# comments at once) without an error that would abort the other comments of a batch.
_INSERT_COMMENT = DriverInserts(_TABLE, _COMMENT_COLUMNS, conflict_key=_DUPLICATE_KEY, returning="id")
# Unique keys the one-statement INSERT breaks for a duplicate (SQLite looks none up) or a comment
# another process wrote meanwhile (broken_unique_key): the batch is then written the ordinary way.
_CHAINED_CONFLICTS = {_DUPLICATE_CONSTRAINT, f"{_TABLE.name}.id",
                      ", ".join(f"{_TABLE.name}.{column}" for column in _DUPLICATE_KEY)}
_DECISION_COLUMNS = ("comment_id", "actor", "action", "from_status", "to_status", "reason_code", "reasons",
                     "spam_score", "abuse_score", "model_version", "created_at", "moderator_id", "note_to_author")
_INSERT_DECISIONS = DriverInserts(Decision.__table__, _DECISION_COLUMNS)
# Comments (ids drawn beforehand), decisions and events in one statement: PostgreSQL's WITH
# clauses (postgres_intake), SQLite's view and trigger (sqlite_intake).
_CHAINED_INSERTS = postgres_intake.ChainedInserts(
    DriverInserts(_TABLE, ("id", *_COMMENT_COLUMNS), bind_prefix="c_"),
    DriverInserts(Decision.__table__, _DECISION_COLUMNS, bind_prefix="d_"),
    DriverInserts(OutboxEvent.__table__, outbox.EVENT_COLUMNS, bind_prefix="e_"),
)
_SPREAD_INSERTS = sqlite_intake.SpreadInserts(
    DriverInserts(_TABLE, ("id", *_COMMENT_COLUMNS)),
    DriverInserts(Decision.__table__, _DECISION_COLUMNS),
    DriverInserts(OutboxEvent.__table__, outbox.EVENT_COLUMNS),
    sites_table=Site.__table__.name, flood_since_type=_COLUMNS.created_at.type,
)


class AcceptedComment(SimpleNamespace):
    """A comment just written: its column values by attribute, like the ORM row it is in the database.

    Not an ORM instance: instrumenting 25 attributes per comment was a third of the writer's time."""


# What the checks before the INSERT may refuse one submission for, without failing the others.
CHECK_REFUSALS = (FloodDetected, InvalidParent, IdempotencyInFlight, IdempotencyMismatch)


def _check_parent(session: Session, site: Site, article_id: str, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Comment, parent_id)
    if parent is None or parent.site_id != site.id or parent.article_id != article_id:
        raise InvalidParent("the parent comment does not belong to this article", parent_id=parent_id)


def _values(submission: Submission, verdict) -> dict:
    now, scores, data = submission.now, submission.scores, submission.data
    values = dict(
        site_id=submission.site.id, content_hash=submission.digest, status=verdict.status, reasons=verdict.reasons,
        version=1, created_at=now, updated_at=now,
        published_at=now if verdict.status is CommentStatus.APPROVED else None,
        unscored_reason=submission.unscored_reason, risk=0.5,
    )
    for name in _FIELDS:
        values[name] = data.get(name)
    values.update(dict.fromkeys(_SCORE_COLUMNS))
    if scores is not None:
        values.update(spam_score=scores.spam, abuse_score=scores.abuse, detected_language=scores.language,
                      model_version=scores.model_version, explanation=scores.explanation,
                      risk=max(scores.spam, scores.abuse))
    return values


def _duplicate_key(submission: Submission) -> tuple:
    """The values of _DUPLICATE_KEY for this submission."""
    return submission.site.id, submission.data["article_id"], submission.data["author_email"], submission.digest


def _duplicate() -> DuplicateComment:
    return DuplicateComment("the same author already posted this comment on this article")


def write_batch(session: Session, batch: list[Submission], interval: dt.timedelta
                ) -> list[AcceptedComment | ModerationError]:
    """Several submissions in one transaction and one commit (group commit): each gets its comment or
    its refusal, nothing is written for a refused one, and a flood inside the batch is caught.

    The look-ups share one statement (or round trip), the new ids are drawn with them, and the
    comments, their decisions and their events are written by one INSERT (postgres_intake,
    sqlite_intake). Written the ordinary way instead (one statement per table, the comments'
    with ON CONFLICT DO NOTHING and RETURNING) when that INSERT breaks a unique key. Comments
    sent with an Idempotency-Key add a look-up and an INSERT of their keys (idempotency.KeysInBatch)."""
    dialect = session.get_bind().dialect.name
    chained = dialect == "sqlite" or (dialect == "postgresql" and len(batch) <= DriverInserts.MAX_ROWS)
    look_up = False  # SQLite: whether to look up even if the connection holds ids (sqlite_intake)
    for attempt in range(3):
        try:
            results = _write_batch(session, batch, interval, chained, look_up)
            break
        except sa_exc.IntegrityError as error:
            if attempt == 2:
                raise
            if chained and sqlite_intake.is_check_failure(error):
                # Written again after a look-up, which refuses the flood and draws current ids (the
                # next pooled connection may hold old ones too); refused again (another process
                # wrote meanwhile), the ordinary way.
                if look_up:
                    chained = False
                look_up = True
            elif chained and broken_unique_key(error) in _CHAINED_CONFLICTS:
                chained = False  # the ordinary INSERT with ON CONFLICT settles the duplicates row by row
            elif not is_key_conflict(error):
                raise
            # else another process stored one of these Idempotency-Keys meanwhile: looked up
            # again, it refuses its submission (409 or 422) and the others are written.
    for result in results:
        if isinstance(result, AcceptedComment):
            COMMENTS_RECEIVED.labels(status=result.status.value).inc()
    return results  # type: ignore[return-value]


def _write_batch(session: Session, batch: list[Submission], interval: dt.timedelta, chained: bool,
                 look_up: bool = False) -> list:
    results: list[AcceptedComment | ModerationError | None] = [None] * len(batch)
    with transaction(session):
        connection = session.connection()
        sqlite = connection.dialect.name == "sqlite"
        sqlite_chained = chained and sqlite
        if sqlite and (look_up or not chained):
            sqlite_intake.forget(connection)  # the largest id is read now, or moves past the held ones
        # Held ids (SQLite, within a second of a look-up): no look-up, the trigger checks stored comments.
        lookups = sqlite_intake.held_lookups(connection, len(batch), {s.site.id for s in batch}) \
            if sqlite_chained else None
        if lookups is None:
            flood_query = FloodWindow.query(connection, batch, interval, last_id=sqlite_chained)
            if sqlite_chained:
                lookups = sqlite_intake.look_up(connection, len(batch), flood_query)
            elif chained:
                lookups = postgres_intake.look_up(connection, [_duplicate_key(s) for s in batch], flood_query,
                                                  outbox.listened_events_query(connection, {s.site.id for s in batch}))
        if lookups is not None:
            flood = FloodWindow(interval, lookups.recent)
        else:
            flood = FloodWindow(interval, flood_query[0].run(connection, flood_query[1]) if flood_query else [])
        keys = KeysInBatch(connection, batch)
        accepted = []
        for index, submission in enumerate(batch):
            data = submission.data
            try:
                keys.check(submission)  # first: a concurrent retry is 409, not a flood
                _check_parent(session, submission.site, data["article_id"], data.get("parent_id"))
                flood.check(submission)
                signals = rules.evaluate(session, submission.site, data)
            except CHECK_REFUSALS as refusal:
                results[index] = refusal
                continue
            flood.note(submission)
            keys.note(submission)
            verdict = decide(submission.scores, submission.policy, submission.unscored_reason, signals)
            values = _values(submission, verdict)
            if lookups is not None:
                key = _duplicate_key(submission)
                if key in lookups.existing:  # stored before, or earlier in this batch
                    results[index] = _duplicate()
                    continue
                lookups.existing.add(key)
                values["id"] = next(lookups.ids)
            accepted.append((index, submission, verdict, values))
        if accepted:
            if lookups is not None:
                # On SQLite an unkeyed batch's INSERT commits itself, so it must be the last statement.
                _store_chained(session, accepted, results, lookups, interval,
                               keyed=any(s.idempotent is not None for s in batch))
            else:
                _store(session, accepted, results)  # duplicates are refused there, by the unique key
            keys.store(connection, [(submission, results[index]) for index, submission, _verdict, _values in accepted
                                    if isinstance(results[index], AcceptedComment)])
        KeysInBatch.recheck(connection, [(index, submission) for index, submission in enumerate(batch)
                                         if isinstance(results[index], (DuplicateComment, FloodDetected))], results)
    return results


def _follow_ups(accepted: list, ids: list[int | None], results: list) -> tuple[list, list]:
    """Each new comment's result, "received" decision and event; the refusal of a duplicate (id None)."""
    decisions, events = [], []
    for (index, submission, verdict, values), comment_id in zip(accepted, ids):
        if comment_id is None:
            results[index] = _duplicate()
            continue
        values["id"] = comment_id
        comment = AcceptedComment(**values)
        results[index] = comment
        decisions.append(dict(
            comment_id=comment_id, actor="system", action="received", from_status=None,
            to_status=verdict.status.value, reason_code=verdict.reason_code, reasons=verdict.reasons,
            spam_score=values["spam_score"], abuse_score=values["abuse_score"],
            model_version=values["model_version"], created_at=submission.now, moderator_id=None, note_to_author=None,
        ))
        events.append(("comment.received", comment, {}))
    return decisions, events


def _store(session: Session, accepted: list, results: list) -> None:
    # Each row's new id, or None for a duplicate (also of an earlier row of the batch).
    ids = _INSERT_COMMENT.run(session.connection(), [values for _, _, _, values in accepted])
    decisions, events = _follow_ups(accepted, ids, results)
    if decisions:
        connection = session.connection()
        _INSERT_DECISIONS.run(connection, decisions)
        outbox.record_many(session, events, None)  # each event dated by its comment


def _store_chained(session: Session, accepted: list, results: list, lookups: postgres_intake.Lookups,
                   interval: dt.timedelta, keyed: bool) -> None:
    """The comments, with the ids drawn in the look-up, their decisions and events in one statement.

    On SQLite, alone in its transaction unless the batch has Idempotency-Keys: keys are stored, or
    refusals looked up again (KeysInBatch), after it and in the same transaction. Its trigger
    checks each comment against the stored ones of its author (sqlite_intake)."""
    comments = [values for _, _, _, values in accepted]
    decisions, events = _follow_ups(accepted, [values["id"] for values in comments], results)
    connection = session.connection()
    # On SQLite the trigger decides which events wait for the relay; these rows only whether to wake it.
    rows = outbox.event_rows(events, None, lookups.listened)
    if connection.dialect.name == "sqlite":
        flood = interval.total_seconds() > 0
        flood_since = [submission.now - interval if flood else None for _, submission, _, _ in accepted]
        _SPREAD_INSERTS.run(connection, comments, decisions, rows, flood_since, alone=not keyed)
        sqlite_intake.hold(connection, lookups)
    else:
        _CHAINED_INSERTS.run(connection, comments, decisions, rows)
    outbox.written(session, rows)
