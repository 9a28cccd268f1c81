"""Retrain, promote, rollback, refusal of a worse candidate, the schedule, and the models commands' functions."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from moderation.classifier import load_model
from moderation.learning import registry
from moderation.learning.background import maybe_retrain, retrain_due
from moderation.learning.models import ModelPromotion, ModelVersion
from moderation.learning.retrain import retrain, time_split
from moderation.learning.labels import LabelSet
from tests.learning.conftest import NOW, add_site_labels


def test_time_split_holds_out_the_most_recent_labels():
    times = [NOW - dt.timedelta(days=10 - k) for k in range(10)]
    labels = LabelSet([f"t{k}" for k in range(10)], [k % 2 for k in range(10)], ["fr"] * 10, times, ["decision"] * 10)
    split = time_split(labels, 0.2, NOW)
    assert split.train.texts == [f"t{k}" for k in range(8)] and split.holdout.texts == ["t8", "t9"]
    assert split.train.ages_days.tolist() == [10, 9, 8, 7, 6, 5, 4, 3]


def test_a_better_candidate_is_promoted_then_rolled_back_and_promoted_again(session, learning_settings):
    add_site_labels(session, 150)
    outcome = retrain(session, settings=learning_settings, now=NOW)
    assert outcome.promoted and outcome.reasons == [] and outcome.compared_with == "base-1"
    for head in ("spam", "abuse"):
        entry = outcome.report[head]
        assert entry["n"] == 30 and entry["judged"]
        # The base gets this site backwards; the site layer learns it from 120 labels per head.
        assert entry["current"] < 0.5 and entry["candidate"] > 0.95
        assert entry["languages"]["fr"]["compared"]
    assert registry.current_version(session, learning_settings) == outcome.version
    # The candidate is an ordinary verified artifact, beside (never inside) the shipped models.
    model = load_model(learning_settings.site_models_dir, outcome.version)
    assert model.score("ferme-la Sami, espece de cretin").abuse > 0.5
    assert not (learning_settings.models_dir / f"{outcome.version}.skops").exists()

    row = session.get(ModelVersion, outcome.version)
    assert (row.kind, row.status, row.base_version, row.label_count) == ("site", "promoted", "base-1", 300)
    promotion = session.scalars(sa.select(ModelPromotion)).one()
    assert promotion.promoted_by == "retrain (automatic)" and promotion.previous_version == "base-1"

    registry.rollback(session, by="cli", now=NOW, settings=learning_settings)
    assert registry.current_version(session, learning_settings) == "base-1"
    with pytest.raises(registry.NothingToRollBack):
        registry.rollback(session, by="cli", now=NOW, settings=learning_settings)
    registry.promote(session, outcome.version, by="moderator:nadia@journal.ma", now=NOW, settings=learning_settings)
    assert registry.current_version(session, learning_settings) == outcome.version

    views = {v.version: v for v in registry.list_versions(session, learning_settings)}
    assert views[outcome.version].current and views[outcome.version].promoted_by == "moderator:nadia@journal.ma"
    assert views["base-1"].kind == "base" and not views["base-1"].current


def test_two_rollbacks_go_two_versions_back(session, learning_settings):
    add_site_labels(session, 150)
    first = retrain(session, settings=learning_settings, now=NOW)
    add_site_labels(session, 40, offset=150)
    second = retrain(session, settings=learning_settings, now=NOW + dt.timedelta(days=1), force_promote=True, by="cli")
    assert registry.current_version(session, learning_settings) == second.version
    registry.rollback(session, by="cli", now=NOW + dt.timedelta(days=2), settings=learning_settings)
    assert registry.current_version(session, learning_settings) == first.version
    registry.rollback(session, by="cli", now=NOW + dt.timedelta(days=3), settings=learning_settings)
    assert registry.current_version(session, learning_settings) == "base-1"


def test_a_worse_candidate_is_kept_as_rejected_with_the_reason(session, learning_settings):
    # Moderators' older labels contradict their recent ones: a model trained on them does worse on the recent.
    add_site_labels(session, 150, flip_before=120)
    outcome = retrain(session, settings=learning_settings, now=NOW)
    assert not outcome.promoted
    assert any(r.startswith("spam: ROC-AUC") and "not better by 0.01" in r for r in outcome.reasons)
    assert any(r.startswith("abuse/fr: ROC-AUC") for r in outcome.reasons)
    assert registry.current_version(session, learning_settings) == "base-1"
    row = session.get(ModelVersion, outcome.version)
    assert row.status == "rejected" and "not better" in row.reason
    assert (learning_settings.site_models_dir / f"{outcome.version}.skops").exists()  # kept, to inspect or force
    assert session.scalar(sa.select(sa.func.count(ModelPromotion.id))) == 0

    forced = retrain(session, settings=learning_settings, now=NOW + dt.timedelta(hours=1), force_promote=True, by="cli")
    assert forced.promoted and session.get(ModelVersion, forced.version).reason.startswith("forced despite: ")
    assert registry.current_version(session, learning_settings) == forced.version


def test_too_few_recent_labels_cannot_prove_anything(session, learning_settings):
    add_site_labels(session, 40)  # 8 held out per head
    outcome = retrain(session, settings=learning_settings, now=NOW)
    assert not outcome.promoted
    assert outcome.reasons[0].startswith("spam: too few recent labels to judge (8 with 4 positive")


def test_the_schedule_retrains_after_n_new_labels_or_after_the_interval(session, learning_settings):
    from dataclasses import replace

    settings = replace(learning_settings, retrain_every_labels=200, retrain_interval_hours=24)
    add_site_labels(session, 60)  # 120 labels
    assert retrain_due(session, NOW, settings) is None and maybe_retrain(session, NOW, settings=settings) is None
    add_site_labels(session, 60, offset=60)  # 240 labels
    assert retrain_due(session, NOW, settings) == "240 new labels"
    outcome = maybe_retrain(session, NOW, settings=settings)
    assert outcome is not None and outcome.label_count == 240
    assert retrain_due(session, NOW + dt.timedelta(hours=30), settings) is None  # nothing new since
    add_site_labels(session, 5, offset=120)
    assert retrain_due(session, NOW + dt.timedelta(hours=1), settings) is None
    assert retrain_due(session, NOW + dt.timedelta(hours=25), settings) == "10 new labels and 24 h since the last candidate"


def test_promoting_a_missing_or_tampered_version_is_refused(session, learning_settings):
    from moderation.errors import NotFound

    with pytest.raises(NotFound):
        registry.promote(session, "site-2020.01.01-1", by="cli", now=NOW, settings=learning_settings)
    add_site_labels(session, 150)
    outcome = retrain(session, settings=learning_settings, now=NOW)
    registry.rollback(session, by="cli", now=NOW, settings=learning_settings)
    path = learning_settings.site_models_dir / f"{outcome.version}.skops"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(NotFound, match="sha256"):
        registry.promote(session, outcome.version, by="cli", now=NOW, settings=learning_settings)
    assert registry.current_version(session, learning_settings) == "base-1"


def test_only_one_process_retrains_at_a_time(session, learning_settings):
    from dataclasses import replace

    from moderation.learning.background import LOCK

    settings = replace(learning_settings, retrain_every_labels=100)
    add_site_labels(session, 60)
    session.add(ModelVersion(version=LOCK, kind="lock", status="training", label_count=0, metrics={},
                             created_at=NOW - dt.timedelta(minutes=5)))
    session.commit()
    assert maybe_retrain(session, NOW, settings=settings) is None  # another process holds the lock
    assert all(v.version != LOCK for v in registry.list_versions(session, learning_settings))
    later = NOW + dt.timedelta(hours=3)  # that process died: its lock is stale
    outcome = maybe_retrain(session, later, settings=settings)
    assert outcome is not None and session.get(ModelVersion, LOCK) is None
