"""Pure policy: turn classifier scores and rule signals into a status and the reasons for it."""
from __future__ import annotations

from dataclasses import dataclass, field

from moderation.core.status import CommentStatus


@dataclass(frozen=True)
class PolicySettings:
    # A news site pre-moderates by default: nothing is published without a moderator.
    auto_approve: bool = False
    auto_spam: bool = False
    allow_list_auto_approve: bool = False


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
    reason_code: str | None = None


def _threshold(scores: Scores, head: str, name: str, default: float) -> float:
    return float(scores.thresholds.get(head, {}).get(name, default))


def _score_reasons(scores: Scores) -> list[dict]:
    reasons = []
    for head, code in (("spam", "likely_spam"), ("abuse", "likely_abusive")):
        score = getattr(scores, head)
        flag = _threshold(scores, head, "flag", 0.5)
        if score >= flag:
            reasons.append({"code": code, "head": head, "score": round(score, 4), "threshold": flag})
    return reasons


def decide(scores: Scores | None, settings: PolicySettings, unscored_reason: str | None = None,
           signals=None) -> Verdict:
    """Return the status a new comment gets and every reason that led there.

    Order: ban list, blocked terms, obvious spam, then anything worth a look holds the comment;
    only a clean comment may skip the queue, and never an unscored one.
    """
    reasons = [{"code": "unscored", "detail": unscored_reason or "no model"}] if scores is None else _score_reasons(scores)
    if signals is not None:
        reasons += signals.reasons()
    if signals is not None and signals.banned:
        return Verdict(CommentStatus.SPAM, reasons, "spam")
    if signals is not None and signals.blocked:
        return Verdict(CommentStatus.REJECTED, reasons, "other")
    if scores is None:
        return Verdict(CommentStatus.PENDING, reasons)

    auto_spam_at = _threshold(scores, "spam", "auto_spam", 0.99)
    # A model that never reached the precision auto-spam needs records 1.0: that means never.
    if settings.auto_spam and auto_spam_at < 1.0 and scores.spam >= auto_spam_at:
        reasons.append({"code": "auto_spam", "head": "spam", "score": round(scores.spam, 4), "threshold": auto_spam_at})
        return Verdict(CommentStatus.SPAM, reasons, "spam")

    held = any(r["code"] in ("likely_spam", "likely_abusive", "watched_term", "too_many_links") for r in reasons)
    if held:
        return Verdict(CommentStatus.PENDING, reasons)
    if signals is not None and signals.allowed and settings.allow_list_auto_approve:
        return Verdict(CommentStatus.APPROVED, reasons + [{"code": "auto_approved"}])
    if signals is not None and signals.trusted:
        return Verdict(CommentStatus.APPROVED, reasons + [{"code": "auto_approved"}])
    if settings.auto_approve and all(
        getattr(scores, head) < _threshold(scores, head, "auto_approve", 0.1) for head in ("spam", "abuse")
    ):
        return Verdict(CommentStatus.APPROVED, reasons + [{"code": "auto_approved"}])
    return Verdict(CommentStatus.PENDING, reasons)
