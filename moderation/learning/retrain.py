"""retrain(): a candidate from the shipped base and the site's labels, judged on its newest labels, kept or promoted."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy.orm import Session

from moderation.classifier import ModelUnavailable, artifacts, load_model
from moderation.core.db import transaction
from moderation.errors import ModerationError
from moderation.learning import registry
from moderation.learning.labels import LabelSet, load_labels
from moderation.learning.models import HEADS, ModelPromotion, ModelVersion
from moderation.learning.settings import LearningSettings
from moderation.learning.sitelayer import HeadData, build_payload

SITE_PREFIX = "site-"


class NoBaseModel(ModerationError):
    code = "no-base-model"


@dataclass(frozen=True)
class Split:
    train: HeadData
    holdout: LabelSet


def time_split(labels: LabelSet, fraction: float, now: dt.datetime) -> Split:
    """The most recent `fraction` of a head's labels (time order) are held out; the rest train."""
    n = len(labels)
    cut = n - int(round(n * fraction)) if n >= 2 else n
    ages = np.array([(now - t).total_seconds() / 86400 for t in labels.created[:cut]], dtype=float)
    train = HeadData(labels.texts[:cut], np.array(labels.values[:cut], dtype=np.int64), np.maximum(ages, 0.0))
    holdout = LabelSet(labels.texts[cut:], labels.values[cut:], labels.languages[cut:], labels.created[cut:],
                       labels.sources[cut:])
    return Split(train, holdout)


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def evaluate(candidate, current, holdouts: dict[str, LabelSet], settings: LearningSettings) -> dict:
    """ROC-AUC of the candidate and the current model on each head's held-out labels, overall and per language."""
    report: dict = {}
    for head in HEADS:
        held = holdouts[head]
        y = np.array(held.values, dtype=np.int64)
        positives = int(y.sum())
        entry = {"n": len(y), "positives": positives, "candidate": None, "current": None, "languages": {},
                 "judged": len(y) >= settings.min_eval_labels
                 and min(positives, len(y) - positives) >= settings.min_eval_class}
        if len(y):
            cand = candidate.score_many(held.texts)
            curr = current.score_many(held.texts)
            pc = np.array([getattr(r, head) for r in cand])
            pk = np.array([getattr(r, head) for r in curr])
            entry["candidate"], entry["current"] = _auc(y, pc), _auc(y, pk)
            langs = np.array([lang if lang != "unknown" else r.language for lang, r in zip(held.languages, curr)])
            for lang in sorted(set(langs)):
                mask = langs == lang
                ym = y[mask]
                entry["languages"][lang] = {
                    "n": int(mask.sum()), "positives": int(ym.sum()),
                    "candidate": _auc(ym, pc[mask]), "current": _auc(ym, pk[mask]),
                    "compared": bool(mask.sum() >= settings.min_language_labels
                                     and min(ym.sum(), len(ym) - ym.sum()) >= settings.min_eval_class)}
        report[head] = entry
    return report


def judge(report: dict, settings: LearningSettings) -> list[str]:
    """Why the candidate may not be promoted; empty when it is better on both heads and worse on no language."""
    reasons = []
    for head in HEADS:
        entry = report[head]
        if not entry["judged"] or entry["candidate"] is None or entry["current"] is None:
            reasons.append(f"{head}: too few recent labels to judge ({entry['n']} with {entry['positives']} positive; "
                           f"need {settings.min_eval_labels} with {settings.min_eval_class} of each class)")
            continue
        if entry["candidate"] < entry["current"] + settings.margin:
            reasons.append(f"{head}: ROC-AUC {entry['candidate']:.3f} vs {entry['current']:.3f} now, "
                           f"not better by {settings.margin}")
        for lang, row in entry["languages"].items():
            if row["compared"] and row["candidate"] < row["current"] - settings.language_tolerance:
                reasons.append(f"{head}/{lang}: ROC-AUC {row['candidate']:.3f} vs {row['current']:.3f} now "
                               f"on {row['n']} labels")
    return reasons


def next_site_version(settings: LearningSettings, now: dt.datetime) -> str:
    """site-YYYY.MM.DD-N: N one more than any candidate of that day (rejected ones included)."""
    day = f"{SITE_PREFIX}{now:%Y.%m.%d}"
    taken = [p.stem.rsplit("-", 1)[1] for p in settings.site_models_dir.glob(f"{day}-*.json")]
    return f"{day}-{max((int(t) for t in taken if t.isdigit()), default=0) + 1}"


@dataclass(frozen=True)
class RetrainOutcome:
    version: str
    promoted: bool
    reasons: list[str]
    report: dict
    label_count: int
    base_version: str
    compared_with: str


def retrain(session: Session, *, settings: LearningSettings, now: dt.datetime, force_promote: bool = False,
            by: str = "retrain (automatic)", current_model=None) -> RetrainOutcome:
    """Build, save, evaluate and record a candidate. Training runs outside any transaction: intake never waits."""
    try:
        base = load_model(settings.models_dir)
    except ModelUnavailable as error:
        raise NoBaseModel(f"no shipped model to build on: {error}") from error
    current_name = registry.scoring_state(session, settings)[0]
    if current_model is not None and getattr(current_model, "version", None) == current_name:
        current = current_model
    elif current_name == base.version:
        current = base
    else:
        current = registry.load_version(session, current_name, settings)
    labels = {head: load_labels(session, head) for head in HEADS}
    splits = {head: time_split(labels[head], settings.holdout_fraction, now) for head in HEADS}
    version = next_site_version(settings, now)
    payload, summary = build_payload(base, {h: s.train for h, s in splits.items()}, version, settings.layer)
    metadata = {"created": now.isoformat(timespec="seconds"), "kind": "site", "base_version": base.version,
                "site_layer": summary, "layer_params": settings.layer.__dict__,
                "labels": {h: {"train": len(s.train.texts), "holdout": len(s.holdout)} for h, s in splits.items()}}
    artifacts.save(payload, settings.site_models_dir, metadata)
    candidate = load_model(settings.site_models_dir, version)  # the saved file, verified, is what gets judged
    report = evaluate(candidate, current, {h: s.holdout for h, s in splits.items()}, settings)
    reasons = judge(report, settings)
    promoted = force_promote or not reasons
    count = sum(len(labels[h]) for h in HEADS)
    status_reason = ("; ".join(reasons) if reasons else "better on both heads, worse on no language")
    if force_promote and reasons:
        status_reason = "forced despite: " + status_reason
    with transaction(session):
        session.add(ModelVersion(version=version, kind="site", base_version=base.version,
                                 status="promoted" if promoted else "rejected", reason=status_reason[:500],
                                 label_count=count, created_at=now,
                                 metrics={"evaluation": report, "compared_with": current_name, "site_layer": summary}))
        if promoted:
            session.add(ModelPromotion(version=version, previous_version=current_name, promoted_by=by,
                                       reason=status_reason[:500], created_at=now))
    return RetrainOutcome(version, promoted, reasons, report, count, base.version, current_name)
