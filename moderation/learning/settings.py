"""Learning settings, read from the app config (MODERATION_* names) with the defaults below."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from moderation.learning.sitelayer import LayerParams

# config key (after MODERATION_) -> field name
CONFIG_KEYS = {
    "SITE_MODELS_DIR": "site_models_dir",
    "RETRAIN_EVERY_LABELS": "retrain_every_labels",
    "RETRAIN_INTERVAL_HOURS": "retrain_interval_hours",
    "PROMOTION_MARGIN": "margin",
    "MODEL_POLL_SECONDS": "poll_seconds",
}


@dataclass(frozen=True)
class LearningSettings:
    models_dir: Path                       # shipped base models (MODERATION_MODELS_DIR, CURRENT = the base)
    site_models_dir: Path                  # candidates trained here; never inside the shipped folder
    retrain_every_labels: int = 200        # retrain once this many labels arrived since the last candidate
    retrain_interval_hours: float = 168.0  # ... or this long after it, if any label arrived
    margin: float = 0.01                   # ROC-AUC a candidate must gain on each head
    language_tolerance: float = 0.01       # a language counts as worse below current - this
    holdout_fraction: float = 0.2          # the most recent labels of each head, kept for evaluation
    min_eval_labels: int = 30              # a head is judged on at least this many recent labels...
    min_eval_class: int = 5                # ... with at least this many of each class
    min_language_labels: int = 30          # languages with fewer recent labels are not compared
    poll_seconds: float = 5.0              # how often each process checks for a promotion
    layer: LayerParams = LayerParams()

    @classmethod
    def from_config(cls, config) -> "LearningSettings":
        instance = Path(config.get("MODERATION_INSTANCE_DIR") or "instance")
        values: dict = {"models_dir": Path(config["MODERATION_MODELS_DIR"]),
                        "site_models_dir": instance / "models"}
        types = {f.name: f.type for f in fields(cls)}
        for key, name in CONFIG_KEYS.items():
            raw = config.get("MODERATION_" + key)
            if raw in (None, ""):
                continue
            if name == "site_models_dir":
                values[name] = Path(raw)
            else:
                values[name] = (int if types[name] in (int, "int") else float)(raw)
        return cls(**values)
