"""Idempotency keys with Stripe semantics: replay the first response, refuse reuse with another body."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from moderation.core.db import transaction
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


def _existing(session: Session, site_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        sa.select(IdempotencyKey).where(IdempotencyKey.site_id == site_id, IdempotencyKey.key == key)
    )


def claim_key(session: Session, site_id: int, key: str, print_: str, now: dt.datetime, ttl: dt.timedelta):
    """Claim a key for this request: None to go ahead, a StoredResponse to replay, or raise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise FieldErrors({"Idempotency-Key": [f"too_long|{MAX_KEY_LENGTH}" if key else "required"]})
    _purge_now_and_then(session, now, ttl)
    for _ in range(2):
        with transaction(session):
            row = _existing(session, site_id, key)
            if row is not None and row.created_at < now - ttl:
                session.delete(row)  # expired: the key may be used afresh
                session.flush()
                row = None
            if row is not None:
                if row.fingerprint != print_:
                    raise IdempotencyMismatch("key reused with a different body")
                if row.response_status is None:
                    raise IdempotencyInFlight("the first request with this key is still being processed")
                return StoredResponse(row.response_status, row.response_body or "")
            try:
                session.add(IdempotencyKey(site_id=site_id, key=key, fingerprint=print_, created_at=now))
                session.flush()
                return None
            except sa_exc.IntegrityError:
                # A concurrent request took the key between our read and our insert: look again.
                session.rollback()
    raise IdempotencyInFlight("the first request with this key is still being processed")


def complete_key(session: Session, site_id: int, key: str, status: int, body: str) -> None:
    """Store the response inside the caller's transaction (the one that created the comment)."""
    session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.site_id == site_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )


def release_key(session: Session, site_id: int, key: str) -> None:
    """Forget a claim whose request failed, so that a retry runs again instead of replaying an error."""
    try:
        with transaction(session):
            session.execute(
                sa.delete(IdempotencyKey).where(
                    IdempotencyKey.site_id == site_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.response_status.is_(None),
                )
            )
    except Exception:  # the database may be the reason we are here; the key then expires by itself
        pass


PURGE_EVERY_SECONDS = 3600.0
_next_purge = 0.0  # monotonic time; per process


def _purge_now_and_then(session: Session, now: dt.datetime, ttl: dt.timedelta) -> None:
    """At most once an hour per process, the next claim also deletes expired keys: the table keeps
    about a day of keys instead of growing for ever, with no scheduler to run."""
    global _next_purge
    if time.monotonic() < _next_purge:
        return
    _next_purge = time.monotonic() + PURGE_EVERY_SECONDS
    try:
        purge_expired(session, now, ttl)
    except Exception:  # noqa: BLE001 - housekeeping never fails a request; next hour will do
        log.warning("could not purge expired idempotency keys", exc_info=True)


def purge_expired(session: Session, now: dt.datetime, ttl: dt.timedelta) -> int:
    with transaction(session):
        result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < now - ttl))
        return result.rowcount or 0
