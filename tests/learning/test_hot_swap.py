"""Switching models without a restart: atomic under concurrent scoring, driven by promotions in the database."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

from moderation.classifier import load_model
from moderation.extensions import db
from moderation.learning import registry
from moderation.learning.background import ModelWatcher
from moderation.learning.retrain import retrain
from moderation.models_holder import ModelHolder
from tests.learning.conftest import NOW, SITE_ABUSE, SITE_SPAM, add_site_labels, site_text

TEXTS = [site_text(SITE_SPAM, k) for k in range(4)] + [site_text(SITE_ABUSE, k) for k in range(4)]


def _candidate(session, settings):
    add_site_labels(session, 150)
    outcome = retrain(session, settings=settings, now=NOW)
    assert outcome.promoted
    return outcome.version


def test_scoring_never_sees_half_a_model_while_models_swap(session, learning_settings):
    version = _candidate(session, learning_settings)
    base = load_model(learning_settings.models_dir, "base-1")
    site = load_model(learning_settings.site_models_dir, version)
    expected = {m.version: [(m.score(t).spam, m.score(t).abuse) for t in TEXTS] for m in (base, site)}
    assert expected["base-1"] != expected[version]
    holder = ModelHolder()
    holder.swap(base)
    stop = threading.Event()
    seen: list[tuple[str, int, tuple]] = []
    errors: list[BaseException] = []

    def score_forever():
        k = 0
        while not stop.is_set():
            try:
                result = holder.current.score(TEXTS[k % len(TEXTS)])
                seen.append((result.model, k % len(TEXTS), (result.spam, result.abuse)))
            except BaseException as error:  # noqa: BLE001  (any failure is the test's finding)
                errors.append(error)
            k += 1

    threads = [threading.Thread(target=score_forever) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(300):
        holder.swap(site if n % 2 == 0 else base)
        time.sleep(0.0005)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {model for model, _k, _s in seen} == {"base-1", version}
    # Every score is exactly the one its model gives alone: no result mixes the two models.
    assert all(scores == expected[model][k] for model, k, scores in seen)


def test_every_process_follows_promotions_and_thresholds_from_the_database(app, session, learning_settings):
    holder = ModelHolder()
    holder.swap(load_model(learning_settings.models_dir, "base-1"))
    first = holder.current
    watcher = ModelWatcher(app, holder, learning_settings)
    watcher.sync()
    assert holder.current is first  # already on the shipped model: nothing reloaded

    version = _candidate(session, learning_settings)
    assert watcher.sync() is True and holder.current.version == version
    assert watcher.sync() is False

    registry.set_threshold(session, "abuse", "flag", 0.3, by=None, model_version=version, now=NOW)
    promoted = holder.current
    assert watcher.sync() is True
    assert holder.current.version == version and holder.current.thresholds["abuse"]["flag"] == 0.3
    assert promoted.thresholds["abuse"]["flag"] != 0.3  # the model in use was not mutated, a copy was swapped in
    assert holder.current._heads is promoted._heads  # thresholds only: the weights were not reloaded

    registry.rollback(session, by="cli", now=NOW, settings=learning_settings)
    assert watcher.sync() is True
    assert holder.current.version == "base-1" and holder.current.thresholds["abuse"]["flag"] == 0.3


def test_the_watcher_thread_swaps_within_its_poll_interval(app, session, learning_settings):
    holder = ModelHolder()
    holder.swap(load_model(learning_settings.models_dir, "base-1"))
    watcher = ModelWatcher(app, holder, replace(learning_settings, poll_seconds=0.05)).start()
    try:
        version = _candidate(session, learning_settings)
        deadline = time.monotonic() + 10
        while holder.current.version != version and time.monotonic() < deadline:
            time.sleep(0.02)
        assert holder.current.version == version
    finally:
        watcher.stop()
    db.session.remove()
