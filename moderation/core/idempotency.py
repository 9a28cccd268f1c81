"""Idempotency keys with Stripe semantics: replay the first response, refuse reuse with another body."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from moderation.core.db import broken_unique_key, reading, transaction
from moderation.core.driver_statements import DriverInserts, DriverSelects
from moderation.core.models import IdempotencyKey
from moderation.errors import FieldErrors, IdempotencyInFlight, IdempotencyMismatch

MAX_KEY_LENGTH = 255
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


_KEYS = IdempotencyKey.__table__
_INSERT_KEYS = DriverInserts(_KEYS, ("site_id", "key", "fingerprint", "response_status", "response_body",
                                     "created_at"))


class _StoredKey(NamedTuple):
    id: int
    site_id: int
    key: str
    fingerprint: str
    response_status: int | None
    response_body: str | None
    created_at: dt.datetime

    def live(self, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Not expired: an expired key may be used afresh."""
        created_at = self.created_at
        if created_at.tzinfo is None:  # some drivers hand back naive UTC
            created_at = created_at.replace(tzinfo=dt.timezone.utc)
        return created_at >= now - ttl


def _stored_keys(sites: int, keys: int) -> sa.Select:
    """The stored rows of some keys (one plain parameter per value: see DriverSelects)."""
    return sa.select(*(_KEYS.c[name] for name in _StoredKey._fields)).where(
        _KEYS.c.site_id.in_([sa.bindparam(f"site{i}", type_=_KEYS.c.site_id.type) for i in range(sites)]),
        _KEYS.c.key.in_([sa.bindparam(f"key{i}", type_=_KEYS.c.key.type) for i in range(keys)]))


_STORED_KEYS = DriverSelects(_stored_keys)


def _read_keys(connection, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], _StoredKey]:
    """The stored rows of these (site id, key) pairs, by pair."""
    if not pairs:
        return {}
    sites = sorted({site for site, _key in pairs})
    keys = sorted({key for _site, key in pairs})
    values = {f"site{i}": site for i, site in enumerate(sites)}
    values.update((f"key{i}", key) for i, key in enumerate(keys))
    rows = (_StoredKey(*row) for row in _STORED_KEYS(connection, len(sites), len(keys)).run(connection, values))
    return {(row.site_id, row.key): row for row in rows if (row.site_id, row.key) in pairs}


def _same_body(stored_print: str, print_: str) -> None:
    if stored_print != print_:
        raise IdempotencyMismatch("key reused with a different body")


def look_up_key(session: Session, site_id: int, key: str, print_: str, now: dt.datetime, ttl: dt.timedelta):
    """Before a keyed comment is written: the first response to replay, None to go ahead, or raise (422, 409).

    Reads only (but for the hourly purge of expired keys). The key is stored with the comment's
    response in the transaction that stores the comment (KeysInBatch), so a request costs no
    transaction of its own, and a failed one leaves nothing behind that a retry would have to get
    past. (Rows without a response are claims of earlier versions: 409 until the purge drops them.)"""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise FieldErrors({"Idempotency-Key": [f"too_long|{MAX_KEY_LENGTH}" if key else "required"]})
    _purge_now_and_then(session, now, ttl)
    with reading(session):
        row = _read_keys(session.connection(), {(site_id, key)}).get((site_id, key))
    if row is None or not row.live(now, ttl):
        return None
    _same_body(row.fingerprint, print_)
    if row.response_status is None:
        raise IdempotencyInFlight("the first request with this key is still being processed")
    return StoredResponse(row.response_status, row.response_body or "")


class KeysInBatch:
    """The Idempotency-Keys of one batch of submissions (submissions.Submission), in the writer's transaction.

    Each request looked its key up before it was queued (look_up_key). A key stored since by a
    concurrent request, or taken by an earlier submission of the same batch, refuses the
    submission before anything is written: 409 for the same body (the client's retry then gets the
    stored response), 422 for another. A submission whose comment is stored gets its key stored
    with the response, in the same transaction."""

    def __init__(self, connection, batch: list) -> None:
        self.stored = _read_keys(connection, {(s.site.id, s.idempotent.key) for s in batch if s.idempotent is not None})
        self.taken: dict[tuple[int, str], str] = {}  # key -> fingerprint of its submission in this batch

    def check(self, submission) -> None:
        """Raise IdempotencyInFlight (or IdempotencyMismatch) if this submission's key is no longer free."""
        wanted = submission.idempotent
        if wanted is None:
            return
        pair = (submission.site.id, wanted.key)
        if pair in self.taken:
            _same_body(self.taken[pair], wanted.fingerprint)
            raise IdempotencyInFlight("the first request with this key is still being processed")
        row = self.stored.get(pair)
        if row is not None and row.live(submission.now, wanted.ttl):
            _same_body(row.fingerprint, wanted.fingerprint)
            raise IdempotencyInFlight("another request with this key was stored a moment ago: retry to get its response")

    @classmethod
    def recheck(cls, connection, refused: list[tuple[int, object]], results: list) -> None:
        """Keyed submissions refused as duplicates or floods: if their key was stored meanwhile (by
        another process, after this batch read its keys), they get the key's 409 or 422 instead, as
        a retry sent a moment too early should."""
        keyed = [(index, submission) for index, submission in refused if submission.idempotent is not None]
        if not keyed:
            return
        again = cls(connection, [submission for _index, submission in keyed])
        for index, submission in keyed:
            try:
                again.check(submission)
            except (IdempotencyInFlight, IdempotencyMismatch) as refusal:
                results[index] = refusal

    def note(self, submission) -> None:
        """This submission goes on to be written: its key is taken for the rest of the batch."""
        if submission.idempotent is not None:
            self.taken[(submission.site.id, submission.idempotent.key)] = submission.idempotent.fingerprint

    def store(self, connection, written: list[tuple]) -> None:
        """Store the keys of the (submission, comment) pairs written, each with its rendered response."""
        rows, expired = [], []
        for submission, comment in written:
            wanted = submission.idempotent
            if wanted is None:
                continue
            status, body = wanted.render(comment)
            rows.append(dict(site_id=submission.site.id, key=wanted.key, fingerprint=wanted.fingerprint,
                             response_status=status, response_body=body, created_at=submission.now))
            old = self.stored.get((submission.site.id, wanted.key))
            if old is not None:
                expired.append(old.id)
        if expired:  # rare: an expired key used afresh
            connection.execute(sa.delete(_KEYS).where(_KEYS.c.id.in_(expired)))
        if rows:
            # In key order: two batches of two processes that share keys then lock them in the same
            # order on PostgreSQL, and wait for each other instead of deadlocking.
            rows.sort(key=lambda row: (row["site_id"], row["key"]))
            _INSERT_KEYS.run(connection, rows)


def is_key_conflict(error: sa_exc.IntegrityError) -> bool:
    """The unique key of idempotency_keys: a concurrent request in another process stored the same key."""
    return broken_unique_key(error) in ("uq_idempotency_site_key", "idempotency_keys.site_id, idempotency_keys.key")


PURGE_EVERY_SECONDS = 3600.0
_next_purge = 0.0  # monotonic time; per process


def _purge_now_and_then(session: Session, now: dt.datetime, ttl: dt.timedelta) -> None:
    """At most once an hour per process, the next look-up also deletes expired keys: the table keeps
    about a day of keys instead of growing for ever, with no scheduler to run."""
    global _next_purge
    if time.monotonic() < _next_purge:
        return
    _next_purge = time.monotonic() + PURGE_EVERY_SECONDS
    try:
        purge_expired(session, now, ttl)
    except Exception:  # noqa: BLE001 - housekeeping never fails a request; next hour will do
        log.warning("could not purge expired idempotency keys", exc_info=True)


# Rows without a response are claims of versions before KeysInBatch (this version never writes one).
# Past this age their request is long over; younger, a server of the older version may still be
# completing one during a rolling upgrade.
ABANDONED_CLAIM_AGE = dt.timedelta(minutes=10)


def purge_expired(session: Session, now: dt.datetime, ttl: dt.timedelta) -> int:
    """Delete expired keys, and claims that earlier versions left without a response (409 until then)."""
    with transaction(session):
        result = session.execute(sa.delete(IdempotencyKey).where(sa.or_(
            IdempotencyKey.created_at < now - ttl,
            sa.and_(IdempotencyKey.response_status.is_(None), IdempotencyKey.created_at < now - ABANDONED_CLAIM_AGE))))
        return result.rowcount or 0
