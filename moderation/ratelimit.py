"""The per-site intake limit on Flask-Limiter's configured strategy and storage, checked only where it applies."""
from __future__ import annotations

import functools
import logging
import math
import time

from flask import Flask
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage

from moderation.errors import RateLimited

log = logging.getLogger(__name__)


class InlineExpiryMemoryStorage(MemoryStorage):
    """limits' memory storage starts a new 10 ms Timer thread whenever the last one has ended,
    which under steady load is a thread start on most requests (measured ~1.5 ms each in
    bench/intake.py). Counters already expire lazily on read; only the sweep of stale keys
    needs the timer, so it runs inline at most once a second instead."""

    STORAGE_SCHEME = ["inline-memory"]
    SWEEP_EVERY_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY_SECONDS

    # Overrides MemoryStorage's private scheduler (its name is mangled in the base class).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()


def detach_request_hooks(app: Flask, limiter) -> None:
    """Drop Flask-Limiter's before/after/teardown hooks: with no default or decorated limits they
    only resolve an empty set of limits, yet cost a tenth of an intake (bench/intake.py).
    Its storage, strategy and RATELIMIT_* configuration stay in use through hit_intake_limit()."""

    def ours(function) -> bool:
        bound_to = getattr(function, "__self__", None)
        partial_args = getattr(function, "args", ())
        return bound_to is limiter or limiter in partial_args

    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for key, functions in registry.items():
            registry[key] = [function for function in functions if not ours(function)]


@functools.lru_cache(maxsize=16)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def hit_intake_limit(limiter, limit: str, site_id: int) -> None:
    """Count one intake for the site; RateLimited (with the seconds to wait) once `limit` is spent.

    A storage outage (Redis gone) lets the comment through and logs: readers' comments are not
    refused because the limiter's own database is down."""
    item = _parsed(limit)
    key = f"site:{site_id}"
    try:
        strategy = limiter.limiter
        if strategy.hit(item, "intake", key):
            return
        reset_at = strategy.get_window_stats(item, "intake", key).reset_time
    except Exception:  # noqa: BLE001 - any storage failure
        log.warning("rate-limit storage unavailable; intake for site %s not limited", site_id, exc_info=True)
        return
    raise RateLimited(retry_after=max(1, math.ceil(reset_at - time.time())))
