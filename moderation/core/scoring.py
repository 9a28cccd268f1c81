"""Scoring a submission with whatever scorer the process has, failing safe to 'unscored'."""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from moderation.core.policy import Scores
from moderation.metrics import COMMENTS_UNSCORED, SCORING_SECONDS

log = logging.getLogger(__name__)

# Scoring runs on a small pool so a pathological input cannot hold the request past its budget.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scoring")


def _score(scorer, content: str, author_name: str, author_url: str) -> Scores:
    started = time.perf_counter()
    result = scorer.score(content, author_name=author_name, author_url=author_url or "")
    SCORING_SECONDS.observe(time.perf_counter() - started)
    return Scores(
        spam=float(result.spam),
        abuse=float(result.abuse),
        language=result.language,
        model_version=scorer.version,
        explanation=result.explanation,
        thresholds=scorer.thresholds,
    )


def score_submission(scorer, content: str, author_name: str, author_url: str | None, timeout_s: float):
    """Return (Scores, None) or (None, reason) when the model is missing, fails or is too slow."""
    if scorer is None:
        reason = "no model loaded"
    else:
        future = _pool.submit(_score, scorer, content, author_name, author_url or "")
        try:
            return future.result(timeout=timeout_s), None
        except FutureTimeout:
            reason = f"scoring took longer than {int(timeout_s * 1000)} ms"
        except Exception as error:  # the comment must be accepted whatever the model does
            log.exception("scoring failed")
            reason = f"scoring failed: {type(error).__name__}"
    COMMENTS_UNSCORED.labels(reason=reason.split(":")[0]).inc()
    return None, reason
