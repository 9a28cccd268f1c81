"""Scoring in the intake writer process: its own copy of the model scores each batch before writing it."""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from moderation.core.submissions import Submission, score_deferred

log = logging.getLogger(__name__)

# Why here (bench/README.md, "Intake", fifteenth session): with the writer in a child process,
# scoring in the scoring processes sent each comment from a request thread to a scoring process
# and back, then to the writer process: two round trips, each ending with a wait for the server's
# GIL. The writer process is single-threaded, so numpy's GIL releases cost it nothing; scoring
# its batch itself leaves one round trip per comment and takes the scoring off the server.


class BatchScorer:
    """A model that scores whole batches in this process within one budget (see core.scoring.score_batch).

    The server's intake scores with one (the holder wraps its model, ModelHolder.score_in) so that
    request threads leave the scoring to the writer process, which scores with its own BatchScorer
    for the same model. A comment that overruns the budget is discarded as too slow, and the
    comments after it are not scored. In a main thread (the writer process's) the budget's alarm
    also interrupts a comment whose scoring does not end; elsewhere it is checked between comments."""

    place = "intake writer process"  # where comments are scored (/readyz)

    def __init__(self, model, timeout_s: float, thresholds: dict | None = None) -> None:
        self.model, self.timeout_s = model, timeout_s
        self.version = model.version
        # The server's, which may differ from the artifact's (admins tune them: learning.registry).
        self.thresholds = model.thresholds if thresholds is None else thresholds
        self.source = getattr(model, "source", None)  # (models dir, version): how the writer loads it

    @property
    def batches(self) -> bool:
        """Whether request threads defer their scoring to the writer (core.submissions.prepare):
        only for a model the writer process can load (one built in memory is scored where it is)."""
        return self.source is not None

    def score(self, content: str, author_name: str = "", author_url: str = ""):
        return self.model.score(content, author_name=author_name, author_url=author_url)

    def score_batch(self, requests: list[tuple[str, str, str]]) -> list:
        """Each comment's ScoreResult, or the exception that cost it its score, in order."""
        deadline = time.monotonic() + self.timeout_s
        results: list = []
        try:
            with _alarm(self.timeout_s):
                for content, author_name, author_url in requests:
                    if time.monotonic() >= deadline:
                        break
                    try:
                        result = self.model.score(content, author_name=author_name, author_url=author_url)
                    except Exception as error:  # noqa: BLE001 - one comment's failure is that comment's
                        result = error
                    results.append(result if time.monotonic() <= deadline else TimeoutError("scored too late"))
        except _Overrun:
            pass  # the comment being scored, and those after it, are too late
        return results + [TimeoutError("the batch's scoring budget is spent")] * (len(requests) - len(results))


class _Overrun(BaseException):
    """Raised inside the scoring by the budget's alarm (not an Exception: a model must not catch it)."""


@contextmanager
def _alarm(seconds: float):
    """Interrupt the block with _Overrun after `seconds`, in a main thread; elsewhere do nothing.

    Signal handlers run in the main thread only: the writer process scores there, the server's
    request threads (scoring while no writer runs) do not."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = True

    def ring(_signum, _frame):
        if armed:  # a signal handled after the block must not raise
            raise _Overrun()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ScoringInWriter:
    """What ModelHolder.score_in takes when the writer process scores: each model becomes a BatchScorer."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def scorer_for(self, model) -> BatchScorer:
        return BatchScorer(model, self.timeout_s)


class ModelCopy:
    """The writer process's copies of the models the server scores with; another is loaded when the server swaps.

    A swap costs the writer's next batch the load (about a second). The two latest models are
    kept: comments prepared just before a swap may arrive after some prepared just after it, and
    must not reload a model each. A model that cannot be loaded here leaves its comments
    unscored, with the reason, and is tried again after a minute."""

    RETRY_AFTER_FAILURE_S = 60.0
    KEPT = 2

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._loaded: dict[tuple[str, str], BatchScorer] = {}  # by source, the latest last
        self._tuned: dict[tuple, BatchScorer] = {}  # a loaded model with other thresholds, by both
        self._failed: tuple[tuple[str, str], float, str] | None = None  # (source, when, reason)

    def scorer_for(self, source: tuple[str, str], thresholds: dict | None = None) -> tuple[BatchScorer | None, str | None]:
        """(the scorer for this model, with these thresholds if given, None), or (None, why it cannot be loaded here)."""
        scorer = self._loaded.get(source)
        if scorer is None:
            scorer, reason = self._load(source)
            if scorer is None:
                return None, reason
        if thresholds is None or thresholds == scorer.thresholds:
            return scorer, None
        key = (source, json.dumps(thresholds, sort_keys=True))
        if key not in self._tuned:
            self._tuned[key] = BatchScorer(scorer.model, self.timeout_s, thresholds)
        return self._tuned[key], None

    def _load(self, source: tuple[str, str]) -> tuple[BatchScorer | None, str | None]:
        if self._failed is not None and self._failed[0] == source \
                and time.monotonic() - self._failed[1] < self.RETRY_AFTER_FAILURE_S:
            return None, self._failed[2]
        from moderation.classifier import load_model

        try:
            model = load_model(Path(source[0]), source[1])
        except Exception as error:  # noqa: BLE001 - a model that will not load must not stop intake
            reason = f"model not loaded in the intake writer: {source[1]}, {type(error).__name__}"
            log.warning("intake writer process: %s: %s", reason, error)
            self._failed = (source, time.monotonic(), reason)
            return None, reason
        scorer = self._loaded[source] = BatchScorer(model, self.timeout_s)
        self._failed = None
        for old in list(self._loaded)[:-self.KEPT]:  # older models go, with their tuned variants
            del self._loaded[old]
            self._tuned = {key: tuned for key, tuned in self._tuned.items() if key[0] != old}
        return scorer, None

    def score(self, batch: list[Submission], asked: list) -> tuple[list[Submission], tuple]:
        """The batch scored as the server asked ((model source, thresholds) per submission, None:
        scored already), and what the server's metrics need: (seconds per comment scored, how
        many, unscored reasons)."""
        attached = []
        for submission, request in zip(batch, asked):
            if request is None:
                attached.append(submission)
                continue
            scorer, reason = self.scorer_for(*request)
            attached.append(replace(submission, deferred_scorer=scorer) if scorer is not None
                            else replace(submission, unscored_reason=reason))
        started = time.perf_counter()
        try:
            scored = score_deferred(attached, self.timeout_s)
        except Exception as error:  # noqa: BLE001 - the comments are still written, unscored
            log.exception("intake writer process: scoring failed")
            scored = [replace(submission, unscored_reason=f"scoring failed: {type(error).__name__}", deferred_scorer=None)
                      if submission.deferred_scorer is not None else submission for submission in attached]
        mine = [submission for submission, request in zip(scored, asked) if request is not None]
        reasons = [submission.unscored_reason for submission in mine if submission.unscored_reason]
        share = (time.perf_counter() - started) / max(1, len(mine))
        return scored, (share, len(mine) - len(reasons), reasons)

