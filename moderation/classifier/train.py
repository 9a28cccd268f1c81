"""Training: vocabulary, source weighting, both heads, calibration, thresholds, LOSO runs."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from . import language
from .dataset import HANDWRITTEN_GROUP, HEADS, Corpus, dedupe
from .evaluate import choose_thresholds
from .features import CHAR_NGRAM_RANGE, normalise, terms_of_normalised


@dataclass
class Params:
    """Everything that shapes the model; recorded in the metadata."""

    seed: int = 20261129
    C: float = 2.0
    source_cap: int | None = None   # a source counts as at most this many rows (None: no cap)
    balance_classes: bool = False   # within each source, both classes weigh the same
    handwritten_weight: float = 1000.0
    max_features: int = 250_000
    min_df: int = 3
    language_rows_per_class: int = 12_000
    language_C: float = 4.0
    flag_precision: float = 0.90
    min_flag_recall: float = 0.05
    auto_precision: float = 0.98
    approve_recall: float = 0.98
    loso: bool = True
    max_iter: int = 2000
    char_ngrams: str = "{}-{}".format(*CHAR_NGRAM_RANGE)  # recorded; features.py decides


# How the defaults above were chosen: leave-one-source-out runs on the full data (same seed,
# 2026-11-29), scored by the mean over held-out groups of the ROC-AUC, each group counting once
# (pooled AUC mixes sources with different base rates and rewards calibration luck). C barely
# matters and C=8 doubles the fitting time; dropping the per-source class balance helped the
# groups closest to the target (MDOD Darija +0.045, FTR and MLMA French +0.01 to +0.02);
# removing the cap on large sources helped abuse a little more (+0.007) and cost spam 0.002.
# The cap stays available (source_cap) for when new, larger sources arrive.
SELECTION = [
    {"config": "C=0.5, cap 8000, classes balanced", "spam": 0.744, "abuse": 0.690},
    {"config": "C=2, cap 8000, classes balanced", "spam": 0.762, "abuse": 0.692},
    {"config": "C=8, cap 8000, classes balanced", "spam": 0.770, "abuse": 0.689},
    {"config": "C=2, cap 8000, not balanced", "spam": 0.758, "abuse": 0.705},
    {"config": "C=2, no cap, not balanced (chosen)", "spam": 0.756, "abuse": 0.712},
]


class Progress:
    """One stderr line per step with elapsed time; enough to see that a long run moves."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[train {time.monotonic() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Prepared:
    """The deduplicated corpus with its term-count matrix over a generous vocabulary."""

    corpus: Corpus
    normalised: list[str]
    counts: sparse.csr_matrix
    terms: np.ndarray


def prepare(corpus: Corpus, progress: Progress) -> Prepared:
    progress(f"normalising {len(corpus)} rows")
    normalised = [normalise(t) for t in corpus.texts]
    keep, labels = dedupe(corpus, normalised)
    progress(f"{len(keep)} rows after removing duplicates ({len(corpus) - len(keep)} dropped)")
    corpus = corpus.subset(keep)
    corpus.labels = labels
    normalised = [normalised[i] for i in keep]
    progress("counting terms")
    # min_df=2 only trims hapaxes to save memory; each fold applies its own min_df below.
    vec = CountVectorizer(analyzer=terms_of_normalised, min_df=2, dtype=np.float64)
    counts = vec.fit_transform(normalised).tocsr()
    terms = vec.get_feature_names_out()
    progress(f"count matrix {counts.shape[0]} x {counts.shape[1]}, {counts.nnz} non-zeros")
    return Prepared(corpus, normalised, counts, terms)


def select_vocabulary(counts: sparse.csr_matrix, rows: np.ndarray, params: Params) -> np.ndarray:
    """Columns kept when training on `rows`: the most frequent terms with df >= min_df.

    Computed from the training rows only, so a held-out source never shapes the vocabulary.
    """
    sub = counts[rows]
    tf = np.asarray(sub.sum(axis=0)).ravel()
    present = sub.copy()
    present.data[:] = 1.0
    df = np.asarray(present.sum(axis=0)).ravel()
    eligible = np.flatnonzero(df >= params.min_df)
    order = np.argsort(-tf[eligible], kind="stable")[: params.max_features]
    return np.sort(eligible[order])


def source_weights(groups: np.ndarray, labels: np.ndarray, params: Params,
                   balance: bool | None = None) -> np.ndarray:
    """Per-row weights: each source capped at source_cap rows' worth, classes balanced inside.

    Without the cap the 79k Arabic tweets and 25k Davidson tweets would decide the model; the
    class balance stops a source's base rate (83 % positive in Davidson) from being learnt as
    a property of its dialect or topic.
    """
    balance = params.balance_classes if balance is None else balance
    weights = np.ones(len(groups))
    for group in np.unique(groups):
        mask = groups == group
        cap = params.source_cap or mask.sum()
        total = params.handwritten_weight if group == HANDWRITTEN_GROUP else min(mask.sum(), cap)
        if not balance:
            weights[mask] = total / mask.sum()
            continue
        present = [c for c in (0, 1) if (mask & (labels == c)).any()]
        for c in present:
            cls = mask & (labels == c)
            weights[cls] = total / len(present) / cls.sum()
    return weights * (len(weights) / weights.sum())


def fit_head(X, y, w, params: Params) -> LogisticRegression:
    clf = LogisticRegression(C=params.C, max_iter=params.max_iter, tol=1e-5)
    clf.fit(X, y, sample_weight=w)
    return clf


def fit_tfidf(counts, rows, cols) -> TfidfTransformer:
    return TfidfTransformer(sublinear_tf=True).fit(counts[rows][:, cols])


def platt(decision: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Slope and intercept mapping held-out decision values to calibrated log-odds."""
    cal = LogisticRegression(C=1e6, max_iter=1000, tol=1e-8)
    cal.fit(decision.reshape(-1, 1), y, sample_weight=w)
    return float(cal.coef_[0, 0]), float(cal.intercept_[0])


def _baseline(train_texts, y_train, test_texts) -> np.ndarray:
    """The plain comparison: default TfidfVectorizer on raw text, default LogisticRegression."""
    vec = TfidfVectorizer()
    clf = LogisticRegression(max_iter=2000)
    clf.fit(vec.fit_transform(train_texts), y_train)
    return clf.predict_proba(vec.transform(test_texts))[:, 1]


def loso(prep: Prepared, head: str, params: Params, progress: Progress) -> dict:
    """Leave-one-source-out for one head: held-out decision values (ours) and baseline scores."""
    c = prep.corpus
    in_head = np.flatnonzero((c.heads == head) & ~c.handwritten)
    decision = np.full(len(c), np.nan)
    baseline = np.full(len(c), np.nan)
    groups = [g for g in dict.fromkeys(c.groups[in_head])]
    for k, group in enumerate(groups, 1):
        t0 = time.monotonic()
        vocab_rows = np.flatnonzero(c.groups != group)
        train = np.flatnonzero((c.heads == head) & (c.groups != group))
        test = in_head[c.groups[in_head] == group]
        cols = select_vocabulary(prep.counts, vocab_rows, params)
        tfidf = fit_tfidf(prep.counts, vocab_rows, cols)
        X_train = tfidf.transform(prep.counts[train][:, cols])
        w = source_weights(c.groups[train], c.labels[train], params)
        clf = fit_head(X_train, c.labels[train], w, params)
        decision[test] = clf.decision_function(tfidf.transform(prep.counts[test][:, cols]))
        base_train = train[~c.handwritten[train]]
        baseline[test] = _baseline([c.texts[i] for i in base_train], c.labels[base_train],
                                   [c.texts[i] for i in test])
        progress(f"{head} LOSO {k}/{len(groups)} held out {group} ({len(test)} rows) "
                 f"in {time.monotonic() - t0:.0f}s")
    return {"rows": in_head, "decision": decision[in_head], "baseline": baseline[in_head]}


@dataclass
class Trained:
    """The fitted state that artifacts.py saves and scorer.py reads."""

    terms: np.ndarray            # vocabulary, in column order
    idf: np.ndarray
    heads: dict                  # head -> LogisticRegression (calibration folded in)
    language: LogisticRegression
    thresholds: dict
    calibration: dict
    oof: dict                    # head -> held-out predictions for reports
    params: dict
    counts: dict
    language_eval: dict


def train(corpus: Corpus, params: Params, progress: Progress | None = None) -> Trained:
    """Train both heads and the language model; LOSO first so thresholds come from held-out data."""
    progress = progress or Progress(False)
    prep = prepare(corpus, progress)
    c = prep.corpus
    oof: dict = {}
    calibration: dict = {}
    thresholds: dict = {}
    for head in HEADS:
        if params.loso:
            res = loso(prep, head, params, progress)
        else:
            res = _in_sample(prep, head, params)
        rows = res["rows"]
        w_cal = source_weights(c.groups[rows], c.labels[rows], params, balance=False)
        slope, intercept = platt(res["decision"], c.labels[rows], w_cal)
        prob = 1.0 / (1.0 + np.exp(-(slope * res["decision"] + intercept)))
        calibration[head] = {"slope": slope, "intercept": intercept}
        thresholds[head] = choose_thresholds(c.labels[rows], prob, w_cal, params)
        oof[head] = {
            "y": c.labels[rows], "ours": prob, "baseline": res["baseline"],
            "lang": c.langs[rows], "source": c.sources[rows], "group": c.groups[rows],
            "weight": w_cal,
        }
    progress("fitting final vocabulary and heads on all rows")
    all_rows = np.arange(len(c))
    cols = select_vocabulary(prep.counts, all_rows, params)
    tfidf = fit_tfidf(prep.counts, all_rows, cols)
    heads = {}
    for head in HEADS:
        rows = np.flatnonzero(c.heads == head)
        X = tfidf.transform(prep.counts[rows][:, cols])
        clf = fit_head(X, c.labels[rows], source_weights(c.groups[rows], c.labels[rows], params), params)
        _fold_calibration(clf, calibration[head])
        heads[head] = clf
    progress("fitting the language model")
    lang_rows = language.sample_rows(c.langs, params.language_rows_per_class, params.seed)
    language_eval = _language_holdout(prep, tfidf, cols, lang_rows, params)
    lang_clf = language.fit(tfidf.transform(prep.counts[lang_rows][:, cols]), c.langs[lang_rows], params.language_C)
    counts = {
        "rows_read": len(corpus), "rows_after_dedupe": len(c),
        "per_group": {g: int((c.groups == g).sum()) for g in dict.fromkeys(c.groups)},
        "vocabulary": len(cols),
    }
    return Trained(
        terms=prep.terms[cols], idf=tfidf.idf_.copy(), heads=heads, language=lang_clf,
        thresholds=thresholds, calibration=calibration, oof=oof, params=asdict(params), counts=counts,
        language_eval=language_eval,
    )


def _language_holdout(prep: Prepared, tfidf, cols, rows: np.ndarray, params: Params) -> dict:
    """Accuracy of the language model on a seeded 10 % of its rows, fitted on the other 90 %.

    This is an in-source estimate (the same sources on both sides), so it flatters; the card
    says so. The four languages are told apart mostly by script and function words, which do
    not change much between sources.
    """
    rng = np.random.default_rng(params.seed + 1)
    test_mask = rng.random(len(rows)) < 0.1
    fit_rows, test_rows = rows[~test_mask], rows[test_mask]
    c = prep.corpus
    clf = language.fit(tfidf.transform(prep.counts[fit_rows][:, cols]), c.langs[fit_rows], params.language_C)
    proba = clf.predict_proba(tfidf.transform(prep.counts[test_rows][:, cols]))
    classes = [str(k) for k in clf.classes_]
    predicted = np.array([language.decide(proba[i], classes, prep.normalised[r]) for i, r in enumerate(test_rows)])
    truth = c.langs[test_rows]
    per = {lang: {"n": int((truth == lang).sum()), "accuracy": float((predicted[truth == lang] == lang).mean())}
           for lang in classes if (truth == lang).any()}
    return {"note": "Held-out 10 % of the language rows (same sources as training, so optimistic); "
                    "a prediction of 'other' counts as wrong.",
            "accuracy": float((predicted == truth).mean()), "per_language": per}


def _fold_calibration(clf: LogisticRegression, cal: dict) -> None:
    """Fold Platt scaling into the weights: sigmoid(a*(w.x+b)+c) = sigmoid((a*w).x + (a*b+c)).

    The shipped LogisticRegression's own predict_proba is then the calibrated probability, so
    the scikit-learn pipeline and the fast scorer compute the same number with no extra step.
    Weights are rounded to float32 because that is how they are stored.
    """
    clf.coef_ = (clf.coef_ * cal["slope"]).astype(np.float32).astype(np.float64)
    clf.intercept_ = clf.intercept_ * cal["slope"] + cal["intercept"]


def _in_sample(prep: Prepared, head: str, params: Params) -> dict:
    """Fallback when LOSO is switched off (quick runs): in-sample decisions, flagged as such."""
    c = prep.corpus
    rows = np.flatnonzero((c.heads == head) & ~c.handwritten)
    fit_rows = np.flatnonzero(c.heads == head)
    cols = select_vocabulary(prep.counts, np.arange(len(c)), params)
    tfidf = fit_tfidf(prep.counts, np.arange(len(c)), cols)
    clf = fit_head(tfidf.transform(prep.counts[fit_rows][:, cols]), c.labels[fit_rows],
                   source_weights(c.groups[fit_rows], c.labels[fit_rows], params), params)
    decision = clf.decision_function(tfidf.transform(prep.counts[rows][:, cols]))
    return {"rows": rows, "decision": decision, "baseline": np.full(len(rows), np.nan)}
