"""The spam / abuse classifier library: load a verified model and score comments."""

from importlib import import_module

__all__ = ["Model", "ModelUnavailable", "ScoreResult", "load_model"]

# Imported on first use: core's rules only need the stdlib text normalisation in
# classifier.features, and must not pay for scikit-learn and skops (seconds at start-up).
_LAZY = {"Model": ".scorer", "ScoreResult": ".scorer", "load_model": ".scorer", "ModelUnavailable": ".artifacts"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
