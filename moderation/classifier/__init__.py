"""The spam / abuse classifier library: load a verified model and score comments."""

from .artifacts import ModelUnavailable
from .scorer import Model, ScoreResult, load_model

__all__ = ["Model", "ModelUnavailable", "ScoreResult", "load_model"]
