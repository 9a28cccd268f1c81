"""Artifacts: round trip, sha256 check, trusted types, metadata and card contents."""

import json
import zipfile

import numpy as np
import pytest
import skops.io as sio

from moderation.classifier import ModelUnavailable, load_model
from moderation.classifier.artifacts import artifact_paths, read_current

TEXTS = ["buy cheap pills at www.deals.com", "you are a stupid idiot", "شكرا على المقال", "", "ferme ta gueule"]


def test_round_trip_gives_the_same_probabilities(tiny_models_dir, tmp_path):
    model = load_model(tiny_models_dir)
    again = load_model(tiny_models_dir, version=model.version)
    for text in TEXTS:
        a, b = model.score(text), again.score(text)
        assert (a.spam, a.abuse, a.language) == (b.spam, b.abuse, b.language)
        # and the loaded scikit-learn pipeline agrees with the fast path
        assert model.pipeline("spam").predict_proba([text])[0, 1] == pytest.approx(a.spam, abs=1e-12)


def test_metadata_records_versions_hashes_params_thresholds_metrics(tiny_models_dir):
    version = read_current(tiny_models_dir)
    meta = json.loads(artifact_paths(tiny_models_dir, version)["json"].read_text())
    assert set(meta["libraries"]) >= {"scikit-learn", "numpy"}
    assert len(meta["artifact"]["sha256"]) == 64
    assert all(len(h) == 64 for h in meta["training_files"].values())
    assert meta["params"]["seed"] == 7
    for head in ("spam", "abuse"):
        assert set(meta["thresholds"][head]) >= {"flag", "auto_spam", "auto_approve"}
        assert "group" in meta["metrics"][head] and "language" in meta["metrics"][head]
    card = artifact_paths(tiny_models_dir, version)["card"].read_text()
    assert "Leave-one-source-out" in card and f"{version}-roc.png" in card
    assert artifact_paths(tiny_models_dir, version)["roc"].read_bytes()[:4] == b"\x89PNG"


def test_sha256_mismatch_is_refused(models_copy):
    path = artifact_paths(models_copy, read_current(models_copy))["skops"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="sha256"):
        load_model(models_copy)


def _rewrite_with(models_dir, mutate):
    """Re-dump the artifact after mutate(payload) and fix the recorded sha256 so that only the
    content check can refuse it."""
    version = read_current(models_dir)
    paths = artifact_paths(models_dir, version)
    payload = sio.load(paths["skops"], trusted=[])
    mutate(payload)
    sio.dump(payload, paths["skops"], compression=zipfile.ZIP_DEFLATED)
    meta = json.loads(paths["json"].read_text())
    from moderation.classifier.dataset import sha256_file
    meta["artifact"]["sha256"] = sha256_file(paths["skops"])
    paths["json"].write_text(json.dumps(meta))


def test_untrusted_type_is_refused(models_copy):
    # A function reference is the classic way to smuggle code into a model file.
    _rewrite_with(models_copy, lambda p: p.__setitem__("hook", np.save))
    with pytest.raises(ModelUnavailable, match="untrusted types"):
        load_model(models_copy)


def test_missing_current_and_missing_file_are_reported(models_copy):
    version = read_current(models_copy)
    artifact_paths(models_copy, version)["skops"].unlink()
    with pytest.raises(ModelUnavailable, match="missing"):
        load_model(models_copy)
    (models_copy / "CURRENT").unlink()
    with pytest.raises(ModelUnavailable, match="CURRENT"):
        load_model(models_copy)


def _edit_metadata(models_dir, edit) -> None:
    """Rewrite the current version's metadata file after `edit(meta)` changed it in place."""
    path = artifact_paths(models_dir, read_current(models_dir))["json"]
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def test_other_scikit_learn_version_is_refused(models_copy):
    _edit_metadata(models_copy, lambda meta: meta["libraries"].update({"scikit-learn": "0.24.2"}))
    with pytest.raises(ModelUnavailable, match="scikit-learn 0.24.2"):
        load_model(models_copy)


def test_versions_are_never_overwritten(tiny_datasets, models_copy):
    from moderation.classifier.commands import train_command
    root, manifest = tiny_datasets
    with pytest.raises(FileExistsError):
        train_command(datasets_dir=root, models_dir=models_copy, manifest_path=manifest,
                      version=read_current(models_copy), progress=False, loso=False, min_df=1)


def test_model_built_for_other_features_is_refused(models_copy):
    _edit_metadata(models_copy, lambda meta: meta["params"].update({"char_ngrams": "2-5"}))
    with pytest.raises(ModelUnavailable, match="2-5"):
        load_model(models_copy)
