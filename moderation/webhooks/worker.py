"""The worker: threads that relay the outbox, woken by commits in this process and by polling."""
from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import socket
import ssl
import threading
import time
import weakref
from typing import Callable

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from moderation.core import outbox
from moderation.core.models import OutboxEvent, utcnow
from moderation.webhooks import dispatch, metrics, signing
from moderation.webhooks.delivery import Connector, Outcome, default_connector, post
from moderation.webhooks.models import Delivery
from moderation.webhooks.settings import WebhookSettings
from moderation.webhooks.ssrf import Resolver, UnsafeUrl, resolve_target, system_resolver

log = logging.getLogger(__name__)
_WAKE_EVENTS: "weakref.WeakSet[threading.Event]" = weakref.WeakSet()
GAUGE_REFRESH_SECONDS = 5.0
MAX_ERROR_BACKOFF = 5.0


def _note_changes(session, _flush_context) -> None:
    if any(isinstance(obj, (OutboxEvent, Delivery)) for obj in itertools.chain(session.new, session.dirty)):
        dispatch.wake_after_commit(session)


# core.outbox marks sessions that wrote an event with a plain INSERT (no ORM object to spot).
_CORE_FLAG = getattr(outbox, "WAKE_FLAG", None)


def wake_workers() -> None:
    """Tell this process's webhook workers that new events are in the outbox."""
    for wake in list(_WAKE_EVENTS):
        wake.set()


def on_wake(event: threading.Event) -> None:
    """Set `event` too whenever this process's workers are woken (for as long as it lives).

    The intake writer process has no worker: it tells the server, whose worker it is."""
    install_commit_hooks()
    _WAKE_EVENTS.add(event)


def _after_commit(session) -> None:
    core_wrote = session.info.pop(_CORE_FLAG, False) if _CORE_FLAG else False
    if session.info.pop(dispatch.WAKE_FLAG, False) or core_wrote:
        wake_workers()


def _after_rollback(session) -> None:
    session.info.pop(dispatch.WAKE_FLAG, None)
    if _CORE_FLAG:
        session.info.pop(_CORE_FLAG, None)


def install_commit_hooks() -> None:
    """Global Session hooks (idempotent): a commit carrying events wakes this process's workers."""
    for name, handler in (("after_flush", _note_changes), ("after_commit", _after_commit),
                          ("after_rollback", _after_rollback)):
        if not sa_event.contains(Session, name, handler):
            sa_event.listen(Session, name, handler)


def attempt(job: dispatch.Job, settings: WebhookSettings, *, resolver: Resolver = system_resolver,
            connector: Connector = default_connector, tls_context: ssl.SSLContext | None = None) -> Outcome:
    """One signed POST; no database session is used here (no transaction spans the network call)."""
    try:
        target = resolve_target(job.url, settings.allowed_networks, resolver)
    except UnsafeUrl as error:
        return Outcome(None, f"refused: {error.detail}"[:300], 0)
    body = job.body.encode("utf-8")
    # The header timestamp is the wall clock of this attempt: receivers check it against theirs.
    headers = signing.headers(job.event_id, int(time.time()), body, list(job.secrets))
    outcome = post(target, headers, body, connect_timeout=settings.connect_timeout, timeout=settings.timeout,
                   connector=connector, tls_context=tls_context)
    metrics.ATTEMPTS.labels(result=outcome.result).inc()
    metrics.DELIVERY_SECONDS.observe(outcome.latency_ms / 1000)
    return outcome


def _record(session, job, outcome, worker_id, clock, settings, give_up_after: float):
    """Record with retries: losing a success to a database blip would only cost a duplicate, but why pay it."""
    deadline = time.monotonic() + give_up_after
    delay = 0.2
    while True:
        try:
            return dispatch.record_result(session, job, outcome, worker_id, clock(), settings)
        except Exception:
            session.rollback()
            if time.monotonic() + delay > deadline:
                raise
            log.warning("could not record delivery %s yet; retrying", job.delivery_id, exc_info=True)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def batch_size(settings: WebhookSettings) -> int:
    """Deliveries one thread claims at once: all of them must fit in one lease, even if every one times out."""
    return max(1, int(settings.lease_seconds // (settings.connect_timeout + settings.timeout)) - 1)


def step(session: Session, worker_id: str, settings: WebhookSettings, *, clock: Callable[[], dt.datetime] = utcnow,
         resolver: Resolver = system_resolver, connector: Connector = default_connector, limit: int = 1,
         busy: bool = False, tls_context: ssl.SSLContext | None = None, fan_out: bool = True) -> int:
    """Fan out, then claim and deliver up to `limit` deliveries; returns how many were attempted."""
    if fan_out:
        dispatch.fan_out(session, clock())
    jobs = dispatch.claim(session, worker_id, clock(), settings.lease_seconds, limit, look_first=not busy)
    for job in jobs:
        outcome = attempt(job, settings, resolver=resolver, connector=connector, tls_context=tls_context)
        _record(session, job, outcome, worker_id, clock, settings, give_up_after=settings.lease_seconds / 2)
    return len(jobs)


def deliver_due(session: Session, settings: WebhookSettings, *, clock: Callable[[], dt.datetime] = utcnow,
                resolver: Resolver = system_resolver, connector: Connector = default_connector,
                tls_context: ssl.SSLContext | None = None, worker_id: str = "inline") -> int:
    """Deliver everything due now, synchronously (tests with a fake clock, CLI, benchmarks)."""
    total = 0
    while count := step(session, worker_id, settings, clock=clock, resolver=resolver, connector=connector,
                        limit=batch_size(settings), busy=total > 0, tls_context=tls_context):
        total += count
    return total


class Worker:
    """`concurrency` threads, each with its own app context and session, claiming one delivery at a time."""

    def __init__(self, app, settings: WebhookSettings, *, clock: Callable[[], dt.datetime] = utcnow,
                 resolver: Resolver = system_resolver, connector: Connector = default_connector):
        self.app, self.settings, self.clock = app, settings, clock
        self.resolver, self.connector = resolver, connector
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> "Worker":
        install_commit_hooks()
        _WAKE_EVENTS.add(self.wake)
        for index in range(self.settings.concurrency):
            thread = threading.Thread(target=self._run, args=(index,), name=f"webhooks-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(timeout)
        _WAKE_EVENTS.discard(self.wake)

    def _run(self, index: int) -> None:
        from moderation.extensions import db

        worker_id = f"{self.name}:{index}"
        error_backoff = 0.0
        next_gauges = 0.0
        worked = 0
        limit = batch_size(self.settings)
        with self.app.app_context():
            while not self.stopping.is_set():
                # Cleared before looking, so a commit landing while we look still wakes the next wait.
                self.wake.clear()
                try:
                    # One thread per process fans out: every commit wakes them all, and four racing
                    # fan-outs on SQLite's single write lock slowed intake (bench/intake.py).
                    worked = step(db.session, worker_id, self.settings, clock=self.clock, resolver=self.resolver,
                                  connector=self.connector, limit=limit, busy=worked > 0, fan_out=index == 0)
                    if index == 0 and time.monotonic() >= next_gauges:
                        metrics.refresh_gauges(db.session, self.clock())
                        next_gauges = time.monotonic() + GAUGE_REFRESH_SECONDS
                    error_backoff = 0.0
                except Exception:
                    # The database went away (restart, failover) or a bug: log, back off, start afresh.
                    log.warning("webhook worker %s: error, retrying", worker_id, exc_info=True)
                    db.session.remove()
                    error_backoff = min(max(error_backoff * 2, 0.25), MAX_ERROR_BACKOFF)
                    worked = 0
                    self.stopping.wait(error_backoff)
                    continue
                if worked:
                    self.wake.set()  # there may be more: let idle siblings look too
                elif self.wake.wait(self.settings.poll_seconds) and self.settings.coalesce_seconds > 0:
                    # Woken by a commit: let the next few milliseconds of commits join it, so a burst of
                    # intake is fanned out in one transaction, not one per comment (bench/intake.py).
                    self.stopping.wait(self.settings.coalesce_seconds)
            db.session.remove()
