"""Model versions: which one scores now, promote, rollback, threshold overrides, and loading a version."""
from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from moderation.classifier import load_model
from moderation.classifier.artifacts import ModelUnavailable, artifact_paths, read_current
from moderation.core.db import reading, transaction
from moderation.core.models import AuditEntry, Moderator
from moderation.errors import ModerationError, NotFound
from moderation.learning.models import HEADS, ModelPromotion, ModelVersion, ThresholdOverride
from moderation.learning.settings import LearningSettings

THRESHOLD_NAMES = ("flag", "auto_spam", "auto_approve")


class NothingToRollBack(ModerationError):
    code = "nothing-to-roll-back"


def base_version(settings: LearningSettings) -> str | None:
    """The shipped model (models/CURRENT): what scores before any promotion, and what candidates build on."""
    try:
        return read_current(settings.models_dir)
    except ModelUnavailable:
        return None


def _stack(session: Session) -> list[ModelPromotion]:
    """Promotions still in force, oldest first; a rollback undoes the newest of them."""
    stack: list[ModelPromotion] = []
    # By id, the order the database took them in: clocks of different processes may disagree.
    for row in session.scalars(sa.select(ModelPromotion).order_by(ModelPromotion.id)):
        if row.rollback and stack:
            stack.pop()
        else:
            stack.append(row)
    return stack


def current_version(session: Session, settings: LearningSettings) -> str | None:
    latest = session.scalar(sa.select(ModelPromotion.version).order_by(ModelPromotion.id.desc()).limit(1))
    return latest or base_version(settings)


def version_dir(session: Session, version: str, settings: LearningSettings) -> Path:
    kind = session.scalar(sa.select(ModelVersion.kind).where(ModelVersion.version == version))
    if kind == "site" or (kind is None and artifact_paths(settings.site_models_dir, version)["json"].exists()):
        return settings.site_models_dir
    return settings.models_dir


def load_version(session: Session, version: str, settings: LearningSettings):
    """Load and verify a version's artifact (sha256, library versions, trusted types)."""
    with reading(session):
        directory = version_dir(session, version, settings)
    return load_model(directory, version)


def overrides(session: Session) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in session.scalars(sa.select(ThresholdOverride)):
        out.setdefault(row.head, {})[row.name] = float(row.value)
    return out


def scoring_state(session: Session, settings: LearningSettings) -> tuple[str, tuple]:
    """What every process should be scoring with: cheap enough to poll every few seconds."""
    with reading(session):
        found = overrides(session)
        return current_version(session, settings), tuple(sorted((h, n, v) for h, d in found.items() for n, v in d.items()))


def with_thresholds(model, found: dict[str, dict[str, float]]):
    """The model with the admins' thresholds on top of its own (a shallow copy: the weights are shared)."""
    if not found:
        return model
    tuned = copy.copy(model)
    tuned.thresholds = {h: {**t, **found.get(h, {})} for h, t in model.thresholds.items()}
    return tuned


def _ensure_row(session: Session, version: str, settings: LearningSettings, now: dt.datetime) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        kind = "site" if artifact_paths(settings.site_models_dir, version)["json"].exists() else "base"
        row = ModelVersion(version=version, kind=kind, status="candidate", label_count=0, metrics={}, created_at=now)
        session.add(row)
    return row


def promote(session: Session, version: str, *, by: str, now: dt.datetime, settings: LearningSettings,
            moderator: Moderator | None = None, reason: str | None = None, rollback: bool = False) -> ModelPromotion:
    """Make `version` the model that scores, in every process at their next poll. The artifact is verified first."""
    try:
        load_version(session, version, settings)
    except ModelUnavailable as error:
        raise NotFound(f"cannot promote {version}: {error}", version=version) from error
    with transaction(session):
        previous = current_version(session, settings)
        row = _ensure_row(session, version, settings, now)
        row.status = "promoted"
        promotion = ModelPromotion(version=version, previous_version=previous, promoted_by=by, rollback=rollback,
                                   moderator_id=moderator.id if moderator else None, reason=reason, created_at=now)
        session.add(promotion)
    return promotion


def rollback(session: Session, *, by: str, now: dt.datetime, settings: LearningSettings,
             moderator: Moderator | None = None) -> ModelPromotion:
    """Go back to the version in force before the current one (the shipped base after the first promotion)."""
    with reading(session):
        stack = _stack(session)
    if not stack:
        raise NothingToRollBack("no promotion to roll back: the shipped model is in use")
    current = stack[-1].version
    target = stack[-2].version if len(stack) > 1 else base_version(settings)
    if target is None or target == current:
        raise NothingToRollBack(f"nothing before {current} to go back to")
    return promote(session, target, by=by, now=now, settings=settings, moderator=moderator,
                   reason=f"rollback from {current}", rollback=True)


@dataclass(frozen=True)
class VersionView:
    version: str
    kind: str
    status: str
    current: bool
    created_at: dt.datetime | None
    label_count: int
    reason: str | None
    metrics: dict
    promoted_by: str | None
    promoted_at: dt.datetime | None


def list_versions(session: Session, settings: LearningSettings) -> list[VersionView]:
    """Every known version, newest first: the shipped ones on disk and every candidate, with who promoted it."""
    with reading(session):
        rows = {r.version: r for r in session.scalars(sa.select(ModelVersion).where(ModelVersion.kind != "lock"))}
        last_promotion: dict[str, ModelPromotion] = {}
        for p in session.scalars(sa.select(ModelPromotion).order_by(ModelPromotion.id)):
            last_promotion[p.version] = p
        current = current_version(session, settings)
    views = []
    for path in sorted(Path(settings.models_dir).glob("*.json")):
        if path.stem not in rows and (path.parent / f"{path.stem}.skops").exists():
            created = _created(path)
            views.append(VersionView(path.stem, "base", "shipped", path.stem == current, created, 0, None, {},
                                     None, None))
    for row in rows.values():
        p = last_promotion.get(row.version)
        status = "shipped" if row.kind == "base" and row.status == "candidate" else row.status
        views.append(VersionView(row.version, row.kind, status, row.version == current, row.created_at,
                                 row.label_count, row.reason, row.metrics or {}, p.promoted_by if p else None,
                                 p.created_at if p else None))
    far_past = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(views, key=lambda v: (v.created_at or far_past, v.version), reverse=True)


def _created(path: Path) -> dt.datetime | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("created")
        return dt.datetime.fromisoformat(value) if value else None
    except (OSError, ValueError):
        return None


def set_threshold(session: Session, head: str, name: str, value: float, *, by: Moderator | None,
                  model_version: str | None, now: dt.datetime) -> None:
    """An admin's threshold for a head; the change and the audit entry commit together."""
    if head not in HEADS or name not in THRESHOLD_NAMES or not 0.0 <= value <= 1.0:
        raise ModerationError(f"threshold {head}.{name}={value} is not valid")
    with transaction(session):
        row = session.scalar(sa.select(ThresholdOverride).where(ThresholdOverride.head == head,
                                                                ThresholdOverride.name == name))
        before = row.value if row else None
        if row is None:
            row = ThresholdOverride(head=head, name=name, value=value)
            session.add(row)
        row.value, row.moderator_id, row.updated_at = value, by.id if by else None, now
        session.add(AuditEntry(moderator_id=by.id if by else None, action="threshold.changed",
                               target=f"{head}.{name}", created_at=now,
                               details={"before": before, "after": value, "model_version": model_version}))
