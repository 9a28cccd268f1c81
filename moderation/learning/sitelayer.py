"""The site layer: a base model's linear heads adapted with the site's labels, folded back into one model."""
# The base model is a TF-IDF logistic regression per head. The site layer is a second logistic
# regression on the same TF-IDF features (plus the site's own frequent terms that the base
# vocabulary lacks) and on the base's logit, so it learns corrections to the base rather than a
# model from scratch, and needs no access to the base's training data. Every part is linear in
# the same feature vector, so the result folds into ordinary head weights:
#
#     z = a * (w0 . x + b0) + d . x + c  =  (a * w0 + d) . x + (a * b0 + c)
#
# The candidate is then a standard classifier artifact that load_model() reads and score() runs
# at the base model's speed, and every comment keeps the version that scored it.
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from moderation.classifier import artifacts
from moderation.classifier.features import analyse

HEADS = ("spam", "abuse")
# The base logit enters the layer multiplied by this, so its weight is small and the L2 penalty
# barely touches it: the layer may trust the base fully, while every correction term pays.
BASE_SCALE = 10.0


@dataclass(frozen=True)
class LayerParams:
    C: float = 1.0
    half_life_days: float = 365.0       # a label this old weighs half as much as today's
    min_labels: int = 20                # fewer (or fewer than min_class of a class): the head stays the base's
    min_class: int = 5
    new_term_min_df: int = 2
    max_new_terms: int = 50_000
    max_iter: int = 3000


@dataclass
class HeadData:
    """One head's training labels, oldest first."""

    texts: list[str]
    values: np.ndarray
    ages_days: np.ndarray = field(default_factory=lambda: np.zeros(0))


def base_weights(base, head: str) -> tuple[np.ndarray, float]:
    clf = base.pipeline(head).named_steps["clf"]
    return np.asarray(clf.coef_[0], dtype=np.float64), float(clf.intercept_[0])


def new_terms(base, texts: list[str], params: LayerParams) -> tuple[list[str], np.ndarray]:
    """Terms frequent in the site's texts that the base vocabulary lacks, with an idf from the site's texts."""
    if len(texts) < 2:
        return [], np.zeros(0)
    counter = CountVectorizer(analyzer=analyse, min_df=params.new_term_min_df, binary=True, dtype=np.float64)
    try:
        counts = counter.fit_transform(texts)
    except ValueError:  # no term reaches min_df
        return [], np.zeros(0)
    known = set(base.terms)
    names = counter.get_feature_names_out()
    df = np.asarray(counts.sum(axis=0)).ravel()
    fresh = [i for i, term in enumerate(names) if term not in known]
    fresh = sorted(fresh, key=lambda i: (-df[i], names[i]))[: params.max_new_terms]
    fresh.sort(key=lambda i: names[i])
    n = len(texts)
    idf = np.log((1.0 + n) / (1.0 + df[fresh])) + 1.0
    return [str(names[i]) for i in fresh], idf


def vectorizer(terms: list[str], idf: np.ndarray) -> TfidfVectorizer:
    """The same vectors as the scorer's fast path: sublinear tf, idf, l2 norm."""
    vec = TfidfVectorizer(analyzer=analyse, vocabulary=terms, sublinear_tf=True, dtype=np.float64)
    vec.fit([""])
    vec.idf_ = idf
    return vec


def recency_weights(ages_days: np.ndarray, half_life_days: float) -> np.ndarray:
    weights = np.power(0.5, np.asarray(ages_days, dtype=float) / half_life_days)
    return weights * (len(weights) / max(weights.sum(), 1e-12))


def fit_head(X: sparse.csr_matrix, w0: np.ndarray, b0: float, data: HeadData,
             params: LayerParams) -> tuple[np.ndarray, float, dict]:
    """Folded weights and intercept of one adapted head, and what the fit did."""
    y = np.asarray(data.values)
    positives = int(y.sum())
    if len(y) < params.min_labels or min(positives, len(y) - positives) < params.min_class:
        return w0, b0, {"adapted": False, "labels": int(len(y)), "positives": positives}
    base_logit = X @ w0 + b0
    features = sparse.hstack([X, sparse.csr_matrix(BASE_SCALE * base_logit[:, None])], format="csr")
    clf = LogisticRegression(C=params.C, max_iter=params.max_iter, tol=1e-6)
    clf.fit(features, y, sample_weight=recency_weights(data.ages_days, params.half_life_days))
    trust = float(clf.coef_[0, -1] * BASE_SCALE)
    weights = clf.coef_[0, :-1] + trust * w0
    intercept = float(clf.intercept_[0] + trust * b0)
    return weights, intercept, {"adapted": True, "labels": int(len(y)), "positives": positives,
                                "base_trust": round(trust, 4),
                                "correction_norm": round(float(np.linalg.norm(clf.coef_[0, :-1])), 4)}


def _head_clf(template: LogisticRegression, weights: np.ndarray, intercept: float) -> LogisticRegression:
    clf = copy.deepcopy(template)
    clf.coef_ = weights.reshape(1, -1).astype(np.float64)
    clf.intercept_ = np.array([intercept])
    clf.n_features_in_ = weights.shape[0]
    return clf


def build_payload(base, data: dict[str, HeadData], version: str, params: LayerParams,
                  thresholds: dict | None = None) -> tuple[dict, dict]:
    """The candidate's artifact payload (artifacts format) and a summary of each head's fit."""
    all_texts = list(dict.fromkeys(t for head in HEADS for t in data[head].texts))
    extra, extra_idf = new_terms(base, all_texts, params)
    terms = list(base.terms) + extra
    idf = np.concatenate([np.asarray(base.idf, dtype=np.float64), extra_idf])
    vec = vectorizer(terms, idf)
    pad = np.zeros(len(extra))
    heads, summary = {}, {"new_terms": len(extra), "heads": {}}
    for head in HEADS:
        w0, b0 = base_weights(base, head)
        w0 = np.concatenate([w0, pad])
        X = vec.transform(data[head].texts) if len(data[head].texts) else sparse.csr_matrix((0, len(terms)))
        weights, intercept, fit = fit_head(X, w0, b0, data[head], params)
        heads[head] = _head_clf(base.pipeline(head).named_steps["clf"], weights, intercept)
        summary["heads"][head] = fit
    language = copy.deepcopy(base.pipeline("language").named_steps["clf"])
    language.coef_ = np.hstack([language.coef_, np.zeros((language.coef_.shape[0], len(extra)))])
    language.n_features_in_ = len(terms)
    trained = SimpleNamespace(terms=np.array(terms, dtype=object), idf=idf, heads=heads, language=language,
                              thresholds=copy.deepcopy(thresholds if thresholds is not None else base.thresholds))
    return artifacts.payload_of(trained, version), summary
