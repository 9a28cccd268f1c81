"""The model page's numbers: threshold what-if, quality over time from decisions, and the learning curve."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.core.db import reading
from moderation.core.models import Comment
from moderation.learning.models import HEADS, Label, ModelVersion

QUEUES = ("auto_spam", "flagged", "unflagged", "auto_approved")
DEFAULTS = {"flag": 0.5, "auto_spam": 0.99, "auto_approve": 0.1}  # policy.py's, when a model names none
VERDICT_CODES = {"spam": ("likely_spam", "auto_spam"), "abuse": ("likely_abusive",)}
DRIFT_POINTS = 0.10          # a week this much above the average of the weeks before it is a drift
DRIFT_MIN_DECISIONS = 20     # ... when it has at least this many decisions
DRIFT_BASELINE_WEEKS = 4


@dataclass(frozen=True)
class Scored:
    spam: float
    abuse: float
    labels: dict  # head -> 0/1, from the moderators' decisions


def thresholds_of(model_thresholds: dict | None) -> dict[str, dict[str, float]]:
    given = model_thresholds or {}
    return {h: {n: float(given.get(h, {}).get(n, d)) for n, d in DEFAULTS.items()} for h in HEADS}


def recent_scored(session: Session, now: dt.datetime, days: int = 30) -> list[Scored]:
    """Comments of the last `days` days that have scores, with their labels."""
    since = now - dt.timedelta(days=days)
    with reading(session):
        rows = session.execute(sa.select(Comment.id, Comment.spam_score, Comment.abuse_score)
                               .where(Comment.created_at >= since, Comment.spam_score.is_not(None),
                                      Comment.abuse_score.is_not(None))).all()
        labels: dict[int, dict] = {}
        for comment_id, head, value in session.execute(
                sa.select(Label.comment_id, Label.head, Label.value).join(Comment, Comment.id == Label.comment_id)
                .where(Comment.created_at >= since)):
            labels.setdefault(comment_id, {})[head] = int(value)
    return [Scored(float(r.spam_score), float(r.abuse_score), labels.get(r.id, {})) for r in rows]


def queue_of(s: Scored, t: dict, auto_spam: bool, auto_approve: bool) -> str:
    """Where the score part of policy.decide() sends a comment (rules and bans aside)."""
    if auto_spam and s.spam >= t["spam"]["auto_spam"]:
        return "auto_spam"
    if s.spam >= t["spam"]["flag"] or s.abuse >= t["abuse"]["flag"]:
        return "flagged"
    if auto_approve and s.spam < t["spam"]["auto_approve"] and s.abuse < t["abuse"]["auto_approve"]:
        return "auto_approved"
    return "unflagged"


@dataclass(frozen=True)
class WhatIf:
    head: str
    name: str
    value: float
    before: dict   # queue -> count with the thresholds in force
    after: dict    # queue -> count with the moved threshold
    labelled: int  # comments with a label on this head
    positives: int
    precision: float | None   # of "score >= value" against the moderators' labels on this head
    recall: float | None
    total: int


def what_if(rows: list[Scored], thresholds: dict, head: str, name: str, value: float, *,
            auto_spam: bool, auto_approve: bool) -> WhatIf:
    moved = {h: dict(t) for h, t in thresholds.items()}
    moved[head][name] = value
    before = dict.fromkeys(QUEUES, 0)
    after = dict.fromkeys(QUEUES, 0)
    tp = fp = fn = labelled = 0
    for s in rows:
        before[queue_of(s, thresholds, auto_spam, auto_approve)] += 1
        after[queue_of(s, moved, auto_spam, auto_approve)] += 1
        label = s.labels.get(head)
        if label is None:
            continue
        labelled += 1
        hit = getattr(s, head) >= value
        tp += hit and label == 1
        fp += hit and label == 0
        fn += (not hit) and label == 1
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return WhatIf(head, name, value, before, after, labelled, tp + fn, precision, recall, len(rows))


@dataclass(frozen=True)
class Week:
    start: dt.date
    decided: int
    overturned: int

    @property
    def share(self) -> float | None:
        return self.overturned / self.decided if self.decided else None


def quality_by_week(session: Session, now: dt.datetime, weeks: int = 12) -> list[Week]:
    """Per week of decision, the share of scored comments whose moderator label contradicts the model's verdict.

    The verdict is what the model said at intake (the likely_* and auto_spam reasons stored with the
    comment, at the thresholds then in force), so a threshold change shows up here too.
    """
    first = (now - dt.timedelta(weeks=weeks)).date()
    first -= dt.timedelta(days=first.weekday())
    with reading(session):
        rows = session.execute(
            sa.select(Label.comment_id, Label.head, Label.value, Label.created_at, Comment.reasons)
            .join(Comment, Comment.id == Label.comment_id)
            .where(Label.source == "decision", Comment.model_version.is_not(None),
                   Label.created_at >= dt.datetime.combine(first, dt.time(), dt.timezone.utc))).all()
    per_comment: dict[int, tuple[dt.date, bool]] = {}
    for comment_id, head, value, created_at, reasons in rows:
        codes = {r.get("code") for r in reasons or [] if isinstance(r, dict)}
        said = bool(codes & set(VERDICT_CODES[head]))
        week = created_at.date() - dt.timedelta(days=created_at.weekday())
        _, wrong = per_comment.get(comment_id, (week, False))
        per_comment[comment_id] = (week, wrong or said != bool(value))
    out = []
    start = first
    while start <= now.date():
        members = [wrong for week, wrong in per_comment.values() if week == start]
        out.append(Week(start, len(members), sum(members)))
        start += dt.timedelta(days=7)
    return out


def drift(weeks: list[Week]) -> str | None:
    """A warning when the newest week with enough decisions is well above the weeks before it."""
    usable = [w for w in weeks if w.decided >= DRIFT_MIN_DECISIONS]
    if len(usable) < 2:
        return None
    latest, before = usable[-1], usable[-1 - DRIFT_BASELINE_WEEKS:-1]
    baseline = sum(w.share for w in before) / len(before)
    if latest.share >= baseline + DRIFT_POINTS:
        return (f"week of {latest.start:%Y-%m-%d}: moderators overturned {latest.share:.0%} of the model's verdicts, "
                f"against {baseline:.0%} on average the {len(before)} weeks before")
    return None


def learning_curve(session: Session) -> list[dict]:
    """Each site candidate: labels it had, and its held-out ROC-AUC beside the model in use then."""
    with reading(session):
        rows = list(session.scalars(sa.select(ModelVersion).where(ModelVersion.kind == "site")
                                    .order_by(ModelVersion.label_count, ModelVersion.created_at)))
    points = []
    for row in rows:
        evaluation = (row.metrics or {}).get("evaluation") or {}
        points.append({"version": row.version, "labels": row.label_count, "status": row.status,
                       **{f"{h}_candidate": (evaluation.get(h) or {}).get("candidate") for h in HEADS},
                       **{f"{h}_current": (evaluation.get(h) or {}).get("current") for h in HEADS}})
    return points
