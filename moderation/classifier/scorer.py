"""The loaded model: fast per-comment scoring, batched scoring and the scikit-learn pipelines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from . import language as lang_rules
from .artifacts import load_payload
from .dataset import HEADS
from .features import analyse, compose, display_term, normalise, normalised_words
from .term_index import TermIndex

EXPLAIN_TOP = 5
# Candidate features looked at before merging character n-grams into the words they belong to.
_EXPLAIN_CANDIDATES = 7
_HEAD_ROWS = np.arange(len(HEADS))[:, None]  # row index of each head, for picking per-head columns


@dataclass
class ScoreResult:
    """Scores of one comment, as stored with it and shown to moderators."""

    spam: float
    abuse: float
    language: str
    model: str
    explanation: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"spam": self.spam, "abuse": self.abuse, "language": self.language,
                "model": self.model, "explanation": self.explanation}


class Model:
    """A loaded, verified model. Read-only after construction, so threads can share it."""

    def __init__(self, payload: dict, metadata: dict):
        self.version: str = payload["version"]
        self.metadata = metadata
        self.thresholds: dict = {h: dict(t) for h, t in payload["thresholds"].items()}
        self.terms: list[str] = bytes(payload["terms"]).decode("utf-8").split("\n")
        self._index = TermIndex(self.terms)
        self.idf = np.asarray(payload["idf"], dtype=np.float64)
        self._heads = {h: payload["heads"][h] for h in HEADS}
        for clf in self._heads.values():
            clf.coef_ = clf.coef_.astype(np.float64)
        self._language = payload["language"]
        self._language.coef_ = self._language.coef_.astype(np.float64)
        self.language_classes = [str(c) for c in self._language.classes_]
        # One row per term holding every head's and every language's weight, so that a single
        # take() gathers all the weights a comment needs.
        self._w_heads = np.ascontiguousarray(np.vstack([self._heads[h].coef_[0] for h in HEADS]).T)
        self._b_heads = np.array([self._heads[h].intercept_[0] for h in HEADS])
        self._w_lang = np.ascontiguousarray(self._language.coef_.T)
        self._b_lang = self._language.intercept_.copy()
        self._b_all = np.concatenate([self._b_heads, self._b_lang])
        # One 32-byte row per term with its idf and every head's and language's weight, so that a
        # single take() gathers all a comment needs from one cache line per term (the request
        # path is bound by memory latency more than by arithmetic). Weights stay float32: the
        # artifact stores them so, the values are exact.
        weights = np.hstack([self._w_heads, self._w_lang])
        self._rows = np.zeros(len(self.terms), dtype=[("idf", "<f8"), ("w", "<f4", (weights.shape[1],))])
        self._rows["idf"] = self.idf
        self._rows["w"] = weights
        self._vectorizer = None
        self._pipelines: dict = {}

    # -- the scikit-learn view ------------------------------------------------------------
    def vectorizer(self) -> TfidfVectorizer:
        """The equivalent fitted TfidfVectorizer (built on first use; the fast path does not need it)."""
        if self._vectorizer is None:
            vec = TfidfVectorizer(analyzer=analyse, vocabulary=self.terms, sublinear_tf=True,
                                  dtype=np.float64)
            vec.fit([""])
            vec.idf_ = self.idf
            self._vectorizer = vec
        return self._vectorizer

    def pipeline(self, head: str) -> Pipeline:
        """The scikit-learn Pipeline whose predict_proba the fast scorer reproduces."""
        if head not in self._pipelines:
            clf = self._language if head == "language" else self._heads[head]
            self._pipelines[head] = Pipeline([("tfidf", self.vectorizer()), ("clf", clf)])
        return self._pipelines[head]

    # -- fast path ------------------------------------------------------------------------
    def _vector(self, normalised: str):
        """(term ids, TF-IDF values) of one normalised text, exactly as the vectorizer computes them."""
        idx, counts = _unique_counts(self._index.ids(normalised))
        return idx, _tfidf(counts, self.idf.take(idx))

    def score(self, content: str, author_name: str = "", author_url: str = "") -> ScoreResult:
        """Score one comment: both heads, language and explanation."""
        # The words serve every step below: their hashes, too, are computed once.
        words = normalised_words(compose(content, author_name, author_url))
        normalised = " ".join(words)
        idx, counts = _unique_counts(self._index.ids(normalised, words))
        rows = self._rows.take(idx)
        values = _tfidf(counts, rows["idf"])
        # (outputs, terms), each output's weights contiguous for the products below
        weights = np.array(rows["w"].T, dtype=np.float64, order="C")
        z = (weights @ values + self._b_all).tolist()
        # A handful of numbers: plain floats are faster than numpy calls here.
        nh = len(HEADS)
        spam, abuse = (1.0 / (1.0 + math.exp(-v)) for v in z[:nh])
        top = max(z[nh:])
        exps = [math.exp(v - top) for v in z[nh:]]
        total = sum(exps)
        lang = lang_rules.decide([e / total for e in exps], self.language_classes, normalised, words)
        explanation = self._explain(normalised, idx, weights[:nh] * values)
        return ScoreResult(spam=spam, abuse=abuse, language=lang, model=self.version,
                           explanation=explanation)

    def _explain(self, normalised: str, idx: np.ndarray, contributions: np.ndarray) -> dict:
        """Per head, the terms that pushed the score up most, merged into readable words.

        contributions holds one row per head, one column per term of idx. A character n-gram is
        shown as the word (or words) of the comment it comes from, so the console can highlight
        something a person recognises.
        """
        nh, n = contributions.shape
        k = min(_EXPLAIN_CANDIDATES, n)
        if k == 0:
            return {head: [] for head in HEADS}
        top = np.argpartition(-contributions, k - 1, axis=1)[:, :k] if n > k else \
            np.broadcast_to(np.arange(n), contributions.shape)
        # Native Python numbers from here on: the loop below is short, conversions are not free.
        weights = contributions[_HEAD_ROWS[:nh], top].tolist()
        term_ids = idx.take(top).tolist()
        padded = f" {normalised} "
        terms = self.terms
        shown_cache: dict[int, str] = {}
        out = {}
        for h, head in enumerate(HEADS):
            merged: dict[str, float] = {}
            for weight, j in zip(weights[h], term_ids[h]):
                if weight <= 0:
                    continue
                shown = shown_cache.get(j)
                if shown is None:
                    term = terms[j]
                    shown = display_term(term) if term[0] == "§" else _enclosing_words(padded, term)
                    shown_cache[j] = shown
                if shown:
                    merged[shown] = merged.get(shown, 0.0) + weight
            ranked = sorted(merged.items(), key=_heaviest_first)[:EXPLAIN_TOP]
            out[head] = [{"term": t, "weight": round(w, 4)} for t, w in ranked]
        return out

    # -- batches --------------------------------------------------------------------------
    def score_many(self, texts, explain: bool = False) -> list[ScoreResult]:
        """Score many comments at once (same numbers as score(); explanations only on request)."""
        texts = list(texts)
        if explain:
            return [self.score(t) for t in texts]
        normalised = [normalise(t) for t in texts]
        rows, cols, vals = [], [], []
        for r, norm in enumerate(normalised):
            idx, values = self._vector(norm)
            rows.append(np.full(len(idx), r))
            cols.append(idx)
            vals.append(values)
        X = sparse.csr_matrix(
            (np.concatenate(vals) if vals else np.zeros(0),
             (np.concatenate(rows) if rows else np.zeros(0, int), np.concatenate(cols) if cols else np.zeros(0, int))),
            shape=(len(texts), len(self.terms)))
        probs = 1.0 / (1.0 + np.exp(-(X @ self._w_heads + self._b_heads)))
        zl = X @ self._w_lang + self._b_lang
        zl = np.exp(zl - zl.max(axis=1, keepdims=True))
        zl /= zl.sum(axis=1, keepdims=True)
        return [ScoreResult(spam=float(p[0]), abuse=float(p[1]),
                            language=lang_rules.decide(zl[i], self.language_classes, normalised[i]),
                            model=self.version)
                for i, p in enumerate(probs)]


def _heaviest_first(item: tuple[str, float]) -> tuple[float, str]:
    return -item[1], item[0]


def _tfidf(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """Sublinear TF-IDF, L2-normalised, in the vectorizer's order of operations (same bits)."""
    values = (np.log(counts) + 1.0) * idf
    norm = math.sqrt(values @ values)
    if norm > 0:
        values /= norm
    return values


def _unique_counts(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_counts=True) (same order and dtypes) in fewer, cheaper steps."""
    ids = np.sort(ids)
    n = len(ids)
    starts = np.empty(n + 1, dtype=bool)
    starts[0] = starts[n] = True
    np.not_equal(ids[1:], ids[:-1], out=starts[1:n])
    bounds = np.flatnonzero(starts)
    return ids.take(bounds[:-1]), bounds[1:] - bounds[:-1]


def _enclosing_words(padded: str, gram: str) -> str:
    at = padded.find(gram)
    if at < 0:
        return gram.strip()
    start = padded.rfind(" ", 0, at + 1) + 1 if padded[at] != " " else at + 1
    end_probe = at + len(gram)
    end = padded.find(" ", end_probe - 1 if gram.endswith(" ") else end_probe)
    return padded[start:end if end >= 0 else len(padded)].strip()


def load_model(models_dir, version: str | None = None) -> Model:
    """Load the model named by models_dir/CURRENT (or `version`), verified; see artifacts.load_payload."""
    payload, metadata = load_payload(Path(models_dir), version)
    model = Model(payload, metadata)
    model.source = (str(models_dir), model.version)  # where another process loads the same artifact from
    return model
