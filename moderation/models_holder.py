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
        self._lock = threading.Lock()
        self.load_error: str | None = None
        # True when a model was configured (a CURRENT file or a pinned version): readiness needs it then.
        self.expected = False

    @property
    def current(self):
        return self._model

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
            self.load_error = None
