"""The classifier model of this process: loaded once, read by every thread, swapped atomically."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class ModelHolder:
    """Holds the current model; `current` is None when there is none (intake then fails safe)."""

    def __init__(self) -> None:
        self._model = None
        self._scorer = None
        self._where = None
        self._lock = threading.Lock()
        self.load_error: str | None = None
        # True when a model was configured (a CURRENT file or a pinned version): readiness needs it then.
        self.expected = False

    @property
    def current(self):
        return self._model

    @property
    def scorer(self):
        """What intake scores with: the current model, scored where score_in() said (in this thread by default)."""
        return self._scorer

    def score_in(self, where) -> None:
        """From now on intake scores where `where` says, whatever model is swapped in: the scoring
        processes (moderation.scoring_pool) or the intake writer process (moderation.writer_scoring)."""
        with self._lock:
            self._where = where
            self._scorer = self._wrap(self._model)

    def _wrap(self, model):
        if model is None or self._where is None:
            return model
        return self._where.scorer_for(model)

    def load(self, models_dir: str | Path, version: str | None = None, required: bool = False) -> None:
        self.expected = bool(version) or (Path(models_dir) / "CURRENT").exists()
        try:
            from moderation.classifier import load_model

            model = load_model(Path(models_dir), version=version) if version else load_model(Path(models_dir))
        except Exception as error:  # a missing or broken model must not stop intake
            self.load_error = f"{type(error).__name__}: {error}"
            if required:
                raise
            log.warning("no classifier loaded, comments will be unscored: %s", self.load_error)
            return
        self.swap(model)

    def swap(self, model) -> None:
        # A single reference assignment: readers see the old model or the new one, never a mix.
        with self._lock:
            self._model = model
            self._scorer = self._wrap(model)  # one object per model: core.scoring keeps its record by scorer
            self.load_error = None
