"""Pure policy: turn classifier scores and signals into a status and the reasons for it."""
from __future__ import annotations

from dataclasses import dataclass, field

from moderation.core.status import CommentStatus


@dataclass(frozen=True)
class PolicySettings:
    # A news site pre-moderates by default: nothing is published without a moderator.
    auto_approve: bool = False
    auto_spam: bool = False


@dataclass(frozen=True)
class Scores:
    spam: float
    abuse: float
    language: str
    model_version: str
    explanation: dict
    thresholds: dict


@dataclass(frozen=True)
class Verdict:
    status: CommentStatus
    reasons: list[dict] = field(default_factory=list)


def _threshold(scores: Scores, head: str, name: str, default: float) -> float:
    return float(scores.thresholds.get(head, {}).get(name, default))


def decide(scores: Scores | None, settings: PolicySettings, unscored_reason: str | None = None) -> Verdict:
    """Return the status a new comment gets and every reason that led there."""
    if scores is None:
        # Without a score nothing may skip the queue.
        return Verdict(CommentStatus.PENDING, [{"code": "unscored", "detail": unscored_reason or "no model"}])

    reasons: list[dict] = []
    for head, code in (("spam", "likely_spam"), ("abuse", "likely_abusive")):
        score = getattr(scores, head)
        flag = _threshold(scores, head, "flag", 0.5)
        if score >= flag:
            reasons.append({"code": code, "head": head, "score": round(score, 4), "threshold": flag})

    auto_spam_at = _threshold(scores, "spam", "auto_spam", 0.99)
    if settings.auto_spam and scores.spam >= auto_spam_at:
        reasons.append({"code": "auto_spam", "head": "spam", "score": round(scores.spam, 4), "threshold": auto_spam_at})
        return Verdict(CommentStatus.SPAM, reasons)

    if settings.auto_approve and not reasons:
        below = all(
            getattr(scores, head) < _threshold(scores, head, "auto_approve", 0.1) for head in ("spam", "abuse")
        )
        if below:
            return Verdict(CommentStatus.APPROVED, [{"code": "auto_approved"}])
    return Verdict(CommentStatus.PENDING, reasons)
