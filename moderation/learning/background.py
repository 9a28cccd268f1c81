"""Per-process background work: notice a promotion and swap the model; retrain when labels or time say so."""
from __future__ import annotations

import datetime as dt
import logging
import threading

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.core.db import reading, transaction
from moderation.core.models import utcnow
from moderation.learning import registry
from moderation.learning.labels import count_labels
from moderation.learning.models import ModelVersion
from moderation.learning.settings import LearningSettings

log = logging.getLogger(__name__)
SCHEDULE_CHECK_SECONDS = 60.0
LOCK = "retrain-lock"
LOCK_TTL = dt.timedelta(hours=2)
MAX_BACKOFF_SECONDS = 60.0


class _BackgroundThread:
    """One daemon thread running `_run` until stop(); `stopping` is what `_run` waits on."""

    thread_name = "background"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self):
        self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class ModelWatcher(_BackgroundThread):
    """Polls the promoted version and the threshold overrides; loads and swaps when they change.

    Loading happens beside the running model, and the swap is one reference assignment in the
    holder, so requests in flight finish on the old model and the next ones use the new one.
    """

    thread_name = "model-watcher"

    def __init__(self, app, holder, settings: LearningSettings):
        super().__init__()
        self.app, self.holder, self.settings = app, holder, settings
        self.loaded: tuple | None = None

    def sync(self) -> bool:
        """Bring this process's model in line with the database; True when it swapped."""
        from moderation.extensions import db

        with self.app.app_context():
            try:
                state = registry.scoring_state(db.session, self.settings)
                if state == self.loaded:
                    return False
                version, pairs = state
                if version is None:  # no shipped model and no promotion: nothing to load
                    return False
                current = self.holder.current
                overrides: dict = {}
                for head, name, value in pairs:
                    overrides.setdefault(head, {})[name] = value
                if current is not None and current.version == version:
                    model = getattr(current, "untuned", current)  # thresholds changed only: no reload
                else:
                    model = registry.load_version(db.session, version, self.settings)
            finally:
                db.session.remove()
        tuned = registry.with_thresholds(model, overrides)
        if tuned is not model:
            tuned.untuned = model
        self.holder.swap(tuned)
        self.loaded = state
        log.info("scoring with model %s%s", version, f" (thresholds {overrides})" if overrides else "")
        return True

    def _run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            try:
                self.sync()
                backoff = 0.0
            except Exception:  # a missing artifact or a database blip: keep the model we have
                log.warning("model watcher: could not sync; keeping %s", getattr(self.holder.current, "version", None),
                            exc_info=True)
                backoff = min(max(backoff * 2, self.settings.poll_seconds), MAX_BACKOFF_SECONDS)
            self.stopping.wait(backoff or self.settings.poll_seconds)


def retrain_due(session: Session, now: dt.datetime, settings: LearningSettings) -> str | None:
    """Why a retrain is due now, or None: enough new labels, or the interval passed with some new ones."""
    total = count_labels(session)
    with reading(session):
        last = session.scalar(sa.select(ModelVersion).where(ModelVersion.kind == "site")
                              .order_by(ModelVersion.created_at.desc()).limit(1))
    new = total - (last.label_count if last else 0)
    if new >= settings.retrain_every_labels:
        return f"{new} new labels"
    if last is not None and new > 0 and now - last.created_at >= dt.timedelta(hours=settings.retrain_interval_hours):
        return f"{new} new labels and {settings.retrain_interval_hours:g} h since the last candidate"
    return None


def _claim(session: Session, now: dt.datetime) -> bool:
    """One retrain at a time across processes: a lock row whose primary key only one insert can take."""
    try:
        with transaction(session):
            # A lock this old belongs to a process that died mid-training.
            session.execute(sa.delete(ModelVersion).where(ModelVersion.version == LOCK,
                                                          ModelVersion.created_at < now - LOCK_TTL))
            session.execute(sa.insert(ModelVersion).values(version=LOCK, kind="lock", status="training",
                                                           label_count=0, metrics={}, created_at=now))
    except IntegrityError:
        return False
    return True


def maybe_retrain(session: Session, now: dt.datetime, *, settings: LearningSettings | None = None,
                  current_model=None):
    """The worker's hook: retrain if due and no other process is at it (returns the RetrainOutcome), else None."""
    from moderation.learning.retrain import retrain

    if settings is None:
        from flask import current_app

        settings = LearningSettings.from_config(current_app.config)
    why = retrain_due(session, now, settings)
    if why is None or not _claim(session, now):
        return None
    try:
        outcome = retrain(session, settings=settings, now=now, by=f"retrain (automatic: {why})",
                          current_model=current_model)
    finally:
        with transaction(session):
            session.execute(sa.delete(ModelVersion).where(ModelVersion.version == LOCK))
    log.info("retrained %s: %s", outcome.version, "promoted" if outcome.promoted else "; ".join(outcome.reasons))
    return outcome


class RetrainScheduler(_BackgroundThread):
    """A thread that calls maybe_retrain every minute; training runs here, never in a request."""

    thread_name = "retrain-scheduler"

    def __init__(self, app, settings: LearningSettings):
        super().__init__()
        self.app, self.settings = app, settings

    def _run(self) -> None:
        from moderation.extensions import db

        while not self.stopping.wait(SCHEDULE_CHECK_SECONDS):
            with self.app.app_context():
                try:
                    maybe_retrain(db.session, utcnow(), settings=self.settings)
                except Exception:
                    log.warning("scheduled retrain failed", exc_info=True)
                finally:
                    db.session.remove()
