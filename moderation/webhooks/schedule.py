"""When to try a delivery again: jittered backoff, Retry-After on 429/503, and when to give up."""
from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass

# Never wait longer than this on a receiver's say-so: a typo'd Retry-After must not park events for weeks.
MAX_RETRY_AFTER = dt.timedelta(days=1)
THROTTLING_STATUSES = (429, 503)


@dataclass(frozen=True)
class Verdict:
    """What to do after an attempt: deliver done, retry at `next_attempt_at`, fail, or disable."""

    status: str  # delivered | pending | failed
    next_attempt_at: dt.datetime | None = None
    disable_endpoint: bool = False


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(dt.timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return min(max(when - now, dt.timedelta(0)), MAX_RETRY_AFTER)


def jittered(seconds: float, jitter: float, rng: random.Random | None = None) -> dt.timedelta:
    # Spread retries so that a receiver coming back is not hit by every delivery in the same second.
    factor = 1 + (rng or random).uniform(-jitter, jitter) if seconds else 1
    return dt.timedelta(seconds=seconds * factor)


def after_attempt(
    attempts: int,
    status_code: int | None,
    retry_after: str | None,
    now: dt.datetime,
    schedule: tuple[float, ...],
    jitter: float,
    rng: random.Random | None = None,
) -> Verdict:
    """`attempts` counts the attempt just made; schedule[i] is the wait before attempt i+1."""
    if status_code is not None and 200 <= status_code < 300:
        return Verdict("delivered")
    if status_code == 410:
        return Verdict("failed", disable_endpoint=True)
    if attempts >= len(schedule):
        return Verdict("failed")
    delay = jittered(schedule[attempts], jitter, rng)
    if status_code in THROTTLING_STATUSES:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            delay = asked
    return Verdict("pending", next_attempt_at=now + delay)
