"""Scoring a submission with whatever scorer the process has, failing safe to 'unscored'."""
from __future__ import annotations

import logging
import math
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from moderation.core.policy import Scores
from moderation.metrics import COMMENTS_UNSCORED, SCORING_SECONDS

log = logging.getLogger(__name__)

# A scorer starts on probation: its calls run on a small pool so that a slow or pathological
# model cannot hold the request past its budget. Once it has answered PROBATION_CALLS times well
# within budget it is trusted and called inline: handing each call to a pool thread cost as much
# as the scoring itself (bench/intake.py with scoring on). A trusted call that still overruns is
# discarded as too slow, like a pool timeout, and sends the scorer back on probation.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scoring")
PROBATION_CALLS = 50
FAST_SHARE_OF_BUDGET = 0.2
_fast_streak: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()


def _trusted(scorer) -> bool:
    try:
        return _fast_streak.get(scorer, 0) >= PROBATION_CALLS
    except TypeError:  # not weak-referenceable: always on the pool
        return False


def _note_duration(scorer, seconds: float, timeout_s: float) -> None:
    try:
        if seconds <= timeout_s * FAST_SHARE_OF_BUDGET:
            _fast_streak[scorer] = min(PROBATION_CALLS, _fast_streak.get(scorer, 0) + 1)
        else:
            _fast_streak[scorer] = 0
    except TypeError:
        pass


def _score(scorer, content: str, author_name: str, author_url: str) -> Scores:
    started = time.perf_counter()
    result = scorer.score(content, author_name=author_name, author_url=author_url or "")
    SCORING_SECONDS.observe(time.perf_counter() - started)
    return _scores(scorer, result)


def _scores(scorer, result) -> Scores:
    return Scores(spam=float(result.spam), abuse=float(result.abuse), language=result.language,
                  model_version=scorer.version, explanation=result.explanation, thresholds=scorer.thresholds)


def score_submission(scorer, content: str, author_name: str, author_url: str | None, timeout_s: float):
    """Return (Scores, None) or (None, reason) when the model is missing, fails or is too slow."""
    if scorer is None:
        reason = "no model loaded"
    else:
        too_slow = f"scoring took longer than {int(timeout_s * 1000)} ms"
        # A scorer of the worker processes bounds its own time (it replaces a worker that overruns);
        # one that scores in this process does not, and starts on probation like any other.
        inline = _trusted(scorer) or bool(getattr(scorer, "bounds_own_time", False))
        started = time.perf_counter()
        try:
            if inline:
                scores = _score(scorer, content, author_name, author_url or "")
            else:
                scores = _pool.submit(_score, scorer, content, author_name, author_url or "").result(timeout=timeout_s)
            elapsed = time.perf_counter() - started
            _note_duration(scorer, elapsed, timeout_s)
            if not inline or elapsed <= timeout_s:  # the pool already enforced the budget
                return scores, None
            reason = too_slow
        except FutureTimeout:
            _note_duration(scorer, math.inf, timeout_s)
            reason = too_slow
        except Exception as error:  # the comment must be accepted whatever the model does
            log.exception("scoring failed")
            reason = _failed(error)
    return _unscored(reason)


def _failed(error: BaseException) -> str:
    return f"scoring failed: {type(error).__name__}"


def _unscored(reason: str) -> tuple[None, str]:
    COMMENTS_UNSCORED.labels(reason=reason.split(":")[0]).inc()
    return None, reason


def note_scored_elsewhere(seconds_each: float, scored: int, unscored_reasons: list[str]) -> None:
    """Count comments another process scored (the intake writer process) in this process's metrics."""
    for _ in range(scored):
        SCORING_SECONDS.observe(seconds_each)
    for reason in unscored_reasons:
        _unscored(reason)


def scores_in_batches(scorer) -> bool:
    """Whether this scorer scores a batch at once, so the writer may score its batch with it: the
    scoring processes once they hold its model, or the intake writer process (writer_scoring)."""
    return bool(getattr(scorer, "batches", False))


def score_batch(scorer, requests: list[tuple[str, str, str | None]], timeout_s: float) -> list[tuple]:
    """(Scores, None) or (None, reason) for each (content, author name, author URL), in order.

    One call for the intake writer's whole batch, within one budget (scoring_pool.score_batch,
    or writer_scoring.BatchScorer in the writer process): a request thread then waits once, for
    its comment to be written, instead of also waiting for its score."""
    too_slow = f"scoring took longer than {int(timeout_s * 1000)} ms"
    started = time.perf_counter()
    try:
        results = scorer.score_batch([(content, name, url or "") for content, name, url in requests])
    except Exception as error:  # the comments must be accepted whatever the model does
        log.exception("batch scoring failed")
        results = [error] * len(requests)
    share = (time.perf_counter() - started) / max(1, len(requests))
    outcomes = []
    for result in results:
        if isinstance(result, BaseException):
            outcomes.append(_unscored(too_slow if isinstance(result, TimeoutError) else _failed(result)))
            continue
        SCORING_SECONDS.observe(share)
        outcomes.append((_scores(scorer, result), None))
    return outcomes
