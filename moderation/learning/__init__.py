"""Learning from the site itself: labels from decisions and imports, retraining, promotion, the model page."""
from __future__ import annotations

import atexit


def init_app(app) -> None:
    """Register the tables, the settings and the console's model page (/moderate/models); once per app."""
    from moderation.core.review import DECISION_LISTENERS
    from moderation.learning import console, models  # noqa: F401  (tables known to metadata and migrations)
    from moderation.learning.labels import record_labels_for_decisions
    from moderation.learning.settings import LearningSettings

    # Every decision on a scored comment becomes a label, in the decision's own transaction.
    if record_labels_for_decisions not in DECISION_LISTENERS:
        DECISION_LISTENERS.append(record_labels_for_decisions)

    if "moderation.learning.settings" in app.extensions:
        return

    app.extensions["moderation.learning.settings"] = LearningSettings.from_config(app.config)
    console.init_app(app)


def start_background(app, *, schedule: bool, watch: bool = True) -> None:
    """Start the model watcher (`watch`: every process that scores) and the retrain thread (`schedule`).

    Call once the schema is up to date: `moderation serve` with schedule=False (training never competes
    with requests for the CPU), `moderation worker` with watch=False, schedule=True.
    """
    from moderation.learning.background import ModelWatcher, RetrainScheduler

    settings = app.extensions["moderation.learning.settings"]
    if watch and "moderation.learning.watcher" not in app.extensions:
        watcher = ModelWatcher(app, app.extensions["moderation.models"], settings).start()
        app.extensions["moderation.learning.watcher"] = watcher
        atexit.register(watcher.stop, 2.0)
    if schedule and "moderation.learning.scheduler" not in app.extensions:
        scheduler = RetrainScheduler(app, settings).start()
        app.extensions["moderation.learning.scheduler"] = scheduler
        atexit.register(scheduler.stop, 2.0)
