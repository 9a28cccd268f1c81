"""Plain functions behind `moderation train`, `moderation evaluate` and `moderation score`."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np

from . import artifacts
from .card import model_card, write_roc_png
from .dataset import MANIFEST, default_datasets_dir, load_corpus, read_manifest
from .evaluate import evaluate_file, loso_report
from .features import compose
from .scorer import load_model
from .train import SELECTION, Params, Progress, train

DEFAULT_MODELS_DIR = Path("models")


def train_command(*, datasets_dir: str | Path | None = None, models_dir: str | Path = DEFAULT_MODELS_DIR,
                  version: str | None = None, seed: int | None = None, loso: bool = True,
                  limit_per_dataset: int | None = None, promote: bool = True,
                  progress: bool = True, manifest_path: str | Path | None = None,
                  **param_overrides) -> dict:
    """Train both heads from the manifest and write a new versioned artifact to models_dir.

    datasets_dir defaults to MODERATION_DATASETS_DIR, else ../shared/datasets relative to the
    current directory (the repository, where the CLI is run from). promote=True points models_dir/CURRENT at the new
    version. loso=False skips leave-one-source-out (quick runs only: thresholds then come from
    in-sample scores and the card says so). manifest_path replaces the package's manifest.toml
    (tests). param_overrides set fields of train.Params.
    Returns the metadata written to <version>.json.
    """
    models_dir = Path(models_dir)
    datasets_dir = Path(datasets_dir) if datasets_dir else default_datasets_dir()
    manifest_path = Path(manifest_path) if manifest_path else MANIFEST
    manifest = read_manifest(manifest_path)
    params = replace(Params(), seed=seed if seed is not None else manifest.get("seed", Params.seed),
                     loso=loso, **param_overrides)
    if version and artifacts.artifact_paths(models_dir, version)["skops"].exists():
        raise FileExistsError(f"artifact {version} already exists; versions are never overwritten")
    report_progress = Progress(progress)
    report_progress(f"reading datasets from {datasets_dir}")
    corpus = load_corpus(datasets_dir, manifest_path, limit_per_dataset=limit_per_dataset, seed=params.seed)
    trained = train(corpus, params, report_progress)
    version = version or artifacts.next_version(models_dir)
    report = loso_report(trained.oof, trained.thresholds)
    metadata = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "params": trained.params,
        "evaluation": "leave-one-source-out" if loso else "in-sample (LOSO skipped; figures flatter)",
        "thresholds": trained.thresholds,
        "calibration": trained.calibration,
        "counts": trained.counts,
        "language_eval": trained.language_eval,
        "training_files": corpus.files,
        "limit_per_dataset": limit_per_dataset,
        "metrics": report,
        "selection": SELECTION,
    }
    payload = artifacts.payload_of(trained, version)
    metadata = artifacts.save(payload, models_dir, metadata)
    paths = artifacts.artifact_paths(models_dir, version)
    report_progress("writing model card and ROC plot")
    write_roc_png(trained.oof, paths["roc"])
    paths["card"].write_text(model_card(metadata, report, paths["roc"].name), encoding="utf-8")
    if promote:
        artifacts.write_current(models_dir, version)
    report_progress(f"wrote {paths['skops'].name} ({metadata['artifact']['bytes'] / 1e6:.1f} MB)"
                    + (", now CURRENT" if promote else ""))
    return metadata


def evaluate_command(*, data: str | Path, head: str, models_dir: str | Path = DEFAULT_MODELS_DIR,
                     version: str | None = None) -> dict:
    """Score a labelled CSV (columns text,label[,lang]) with the shipped model.

    Returns ROC-AUC, PR-AUC and precision / recall / F1 at the model's flag threshold, overall
    and per language (the file's lang column if present, else the detected language).
    Use format_evaluation() for a printable table.
    """
    if head not in ("spam", "abuse"):
        raise ValueError("head must be 'spam' or 'abuse'")
    model = load_model(models_dir, version)
    with open(data, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "text" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"{data}: expected a CSV with columns text,label[,lang]")
    labels = np.array([int(r["label"]) for r in rows])
    langs = [r["lang"] for r in rows] if "lang" in rows[0] else None
    return evaluate_file(model, [r["text"] for r in rows], labels, head, langs)


def format_evaluation(result: dict) -> str:
    """The evaluate_command result as an aligned text table."""
    def fmt(v):
        return "-" if v is None else f"{v:.3f}"
    lines = [f"model {result['model']}  head {result['head']}  threshold {result['threshold']:.4f}  "
             f"(language from {result['language_from']})",
             f"{'language':<10}{'n':>7}{'pos':>7}{'ROC-AUC':>9}{'PR-AUC':>9}{'prec':>8}{'recall':>8}{'F1':>8}"]
    rows = dict(result["per_language"])
    rows["overall"] = result["overall"]
    for name, m in rows.items():
        lines.append(f"{name:<10}{m['n']:>7}{m['positives']:>7}{fmt(m['roc_auc']):>9}{fmt(m['pr_auc']):>9}"
                     f"{fmt(m['precision']):>8}{fmt(m['recall']):>8}{fmt(m['f1']):>8}")
    return "\n".join(lines)


def _read_inputs(stream: IO[str]) -> list[str]:
    """CSV with a text column (author_name / author_url used if present), or JSON lines."""
    data = stream.read()
    first = data.lstrip()[:1]
    if first == "{":
        texts = []
        for n, line in enumerate(data.splitlines(), 1):
            if line.strip():
                obj = json.loads(line)
                if "text" not in obj:
                    raise ValueError(f"line {n}: no 'text' key")
                texts.append(compose(obj["text"], obj.get("author_name", ""), obj.get("author_url", "")))
        return texts
    reader = csv.DictReader(io.StringIO(data))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise ValueError("input is neither JSON lines nor a CSV with a 'text' column")
    return [compose(r["text"] or "", r.get("author_name") or "", r.get("author_url") or "") for r in reader]


def score_command(*, input: str | Path = "-", output: str | Path = "-",
                  models_dir: str | Path = DEFAULT_MODELS_DIR, version: str | None = None,
                  batch_size: int = 2000) -> int:
    """Score a CSV (text column) or JSON-lines file ("-" = stdin) and write one JSON line per
    input, in order: {"spam", "abuse", "language", "model"} ("-" = stdout). Returns the count."""
    model = load_model(models_dir, version)
    if str(input) == "-":
        texts = _read_inputs(sys.stdin)
    else:
        with open(input, encoding="utf-8", newline="") as fh:
            texts = _read_inputs(fh)
    out = sys.stdout if str(output) == "-" else open(output, "w", encoding="utf-8")
    try:
        for start in range(0, len(texts), batch_size):
            for r in model.score_many(texts[start:start + batch_size]):
                out.write(json.dumps({"spam": r.spam, "abuse": r.abuse, "language": r.language,
                                      "model": r.model}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return len(texts)
