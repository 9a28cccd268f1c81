"""Training end to end on small samples: the tiny hand-written tree and real data when present."""

import json

import numpy as np
import pytest

from moderation.classifier import load_model
from moderation.classifier.artifacts import artifact_paths
from moderation.classifier.commands import train_command
from moderation.classifier.dataset import default_datasets_dir
from moderation.classifier.train import Params, source_weights

from .conftest import REPO


def test_tiny_model_learns_the_hand_written_patterns(tiny_models_dir):
    model = load_model(tiny_models_dir)
    assert model.score("buy cheap phones at www.deals-7.com").spam > 0.5
    assert model.score("i read the budget article and agree with it").spam < 0.5
    assert model.score("you are a stupid idiot sophie").abuse > 0.5
    assert model.score("the budget was well explained").abuse < 0.5


def test_training_is_deterministic(tiny_datasets, tmp_path):
    root, manifest = tiny_datasets
    metas = []
    for run in ("a", "b"):
        metas.append(train_command(datasets_dir=root, models_dir=tmp_path / run, manifest_path=manifest,
                                   version="same", progress=False, min_df=1, max_features=5000,
                                   language_rows_per_class=100))
    assert metas[0]["thresholds"] == metas[1]["thresholds"]
    assert metas[0]["metrics"] == metas[1]["metrics"]
    a, b = load_model(tmp_path / "a"), load_model(tmp_path / "b")
    assert a.terms == b.terms
    assert np.array_equal(a._w_heads, b._w_heads)


def test_source_weights_cap_sources_and_balance_classes():
    groups = np.array(["big"] * 1000 + ["small"] * 10)
    labels = np.array([1] * 900 + [0] * 100 + [1] * 5 + [0] * 5)
    w = source_weights(groups, labels, Params(source_cap=100, balance_classes=True))
    big, small = w[:1000].sum(), w[1000:].sum()
    assert big / small == pytest.approx(10.0)           # 100 rows' worth vs 10
    assert w[:900].sum() == pytest.approx(w[900:1000].sum())   # classes balanced inside
    w = source_weights(groups, labels, Params(source_cap=100, balance_classes=False))
    assert w[:1000].sum() / w[1000:].sum() == pytest.approx(10.0)
    assert w[:900].sum() / w[900:1000].sum() == pytest.approx(9.0)  # the source's own base rate


def test_loso_thresholds_come_from_held_out_predictions(tiny_models_dir):
    meta = json.loads(next(tiny_models_dir.glob("*.json")).read_text())
    assert meta["evaluation"] == "leave-one-source-out"
    groups = set(meta["metrics"]["abuse"]["group"])
    assert groups == {"tiny_abuse_en", "tiny_abuse_fr", "tiny_abuse_ar"}
    assert "baseline" in meta["metrics"]["abuse"]["overall"]


def test_training_on_a_small_sample_of_the_real_data(tmp_path):
    datasets = default_datasets_dir(REPO)
    if not (datasets / "sms_spam_collection").is_dir():
        pytest.skip(f"the shared datasets are not at {datasets}")
    meta = train_command(datasets_dir=datasets, models_dir=tmp_path, version="sample",
                         limit_per_dataset=150, progress=False, max_features=20_000)
    assert set(meta["metrics"]["spam"]["group"]) == {
        "youtube_spam_collection", "sms_spam_collection", "scamspot_instagram_comments", "arabic_spam_tweets"}
    assert meta["training_files"]["sms_spam_collection/sms_spam_collection.csv"]
    model = load_model(tmp_path)
    assert model.version == "sample"
    assert artifact_paths(tmp_path, "sample")["card"].is_file()


def test_near_duplicates_collapse_with_majority_label_and_ties_dropped():
    from moderation.classifier.dataset import Corpus, dedupe
    from moderation.classifier.features import normalise

    texts = ["Buy NOW!!!", "buy now", "buy now 2", "ok then", "OK THEN", "fine", "fine"]
    labels = np.array([1, 1, 0, 1, 0, 0, 0])
    heads = np.array(["spam"] * 5 + ["spam", "abuse"])
    n = len(texts)
    corpus = Corpus(texts=texts, labels=labels, heads=heads, langs=np.array(["en"] * n),
                    sources=np.array(["s"] * n), groups=np.array(["g"] * n),
                    handwritten=np.zeros(n, dtype=bool))
    keep, kept_labels = dedupe(corpus, [normalise(t) for t in texts])
    # "buy now" x3 -> one row labelled 1 (2 of 3); "ok then" tie -> dropped; "fine" kept once per head
    assert keep.tolist() == [0, 5, 6]
    assert kept_labels.tolist() == [1, 0, 0]
