"""Learning from the site: does a site layer trained on a site's own labels beat the shipped model?

Simulates a site whose comments the base model never saw: the base is trained here without one
French source (ftr_french_racism by default), then that source is fed in file order, as
moderators' decisions would arrive, and after 100, 250, 500, 1000 and 2000 labels a candidate
is built exactly as `moderation retrain` builds it: the site layer is fitted on the oldest 80 %
of the labels, the newest 20 % are held out to judge the promotion. Each candidate is scored on
the next 500 unseen comments of the source, beside the base model on the same comments.

    .venv/bin/python bench/learning.py [--source ftr_french_racism] [--limit-per-dataset 6000]

Reads ../shared/datasets (or MODERATION_DATASETS_DIR); writes only to a temporary folder.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderation.classifier import load_model  # noqa: E402
from moderation.classifier.commands import train_command  # noqa: E402
from moderation.classifier.dataset import MANIFEST, default_datasets_dir, read_manifest  # noqa: E402
from moderation.learning.labels import LabelSet  # noqa: E402
from moderation.learning.retrain import time_split  # noqa: E402
from moderation.learning.settings import LearningSettings  # noqa: E402
from moderation.learning.sitelayer import HeadData, build_payload  # noqa: E402

STEPS = (100, 250, 500, 1000, 2000)
NEXT = 500
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def manifest_without(source: str, folder: Path) -> Path:
    """The classifier's manifest minus one dataset, beside a copy of the hand-written examples it names."""
    manifest = read_manifest(MANIFEST)
    lines = [f"seed = {manifest.get('seed', 1)}", ""]
    for entry in manifest["dataset"]:
        if entry["folder"] == source:
            continue
        lines += ["[[dataset]]", f'folder = "{entry["folder"]}"', f'head = "{entry["head"]}"']
        if entry.get("group_by"):
            lines.append(f'group_by = "{entry["group_by"]}"')
        lines.append("")
    hand = manifest.get("handwritten")
    if hand:
        shutil.copy(MANIFEST.with_name(hand["file"]), folder / hand["file"])
        lines += ["[handwritten]", f'file = "{hand["file"]}"']
    path = folder / "manifest.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_source(datasets: Path, source: str) -> tuple[list[str], np.ndarray]:
    with open(datasets / source / f"{source}.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["text"].strip() and r["label"] in ("0", "1")]
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def head_of(source: str) -> str:
    return next(e["head"] for e in read_manifest(MANIFEST)["dataset"] if e["folder"] == source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="ftr_french_racism")
    parser.add_argument("--limit-per-dataset", type=int, default=6000,
                        help="rows sampled per training dataset for the base (keeps the bench short)")
    args = parser.parse_args()
    datasets = default_datasets_dir(ROOT)
    head = head_of(args.source)
    texts, labels = read_source(datasets, args.source)
    print(f"site: {args.source} ({len(texts)} comments, {labels.mean():.0%} {head} positives), "
          f"fed in file order", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.monotonic()
        train_command(datasets_dir=datasets, models_dir=tmp / "models", version="bench-base", loso=False,
                      limit_per_dataset=args.limit_per_dataset, promote=True, progress=False,
                      manifest_path=manifest_without(args.source, tmp))
        base = load_model(tmp / "models", "bench-base")
        print(f"base model trained without {args.source} in {time.monotonic() - started:.0f} s "
              f"({args.limit_per_dataset} rows per dataset at most)", flush=True)
        settings = LearningSettings(models_dir=tmp / "models", site_models_dir=tmp / "site")
        base_scores = np.array([getattr(r, head) for r in base.score_many(texts)])
        times = [START + dt.timedelta(hours=k) for k in range(len(texts))]
        print(f"\n{'labels':>7} {'next':>6} {'base AUC':>9} {'site AUC':>9} {'gain':>7}  {'fit s':>6}  "
              f"promotion check on the newest 20 % ({head} head)")
        for step in STEPS:
            if step + 50 > len(texts):
                break
            test = slice(step, min(step + NEXT, len(texts)))
            known = LabelSet(texts[:step], labels[:step].tolist(), ["fr"] * step, times[:step], ["decision"] * step)
            split = time_split(known, settings.holdout_fraction, times[step])
            empty = HeadData([], np.zeros(0, dtype=np.int64), np.zeros(0))
            t0 = time.monotonic()
            payload, _summary = build_payload(base, {head: split.train, **{h: empty for h in ("spam", "abuse")
                                                                          if h != head}},
                                              f"bench-site-{step}", settings.layer)
            from moderation.classifier.scorer import Model

            candidate = Model(payload, {})
            fit = time.monotonic() - t0
            site_scores = np.array([getattr(r, head) for r in candidate.score_many(texts[test])])
            base_auc = roc_auc_score(labels[test], base_scores[test])
            site_auc = roc_auc_score(labels[test], site_scores)
            held = np.array(split.holdout.values)
            check = "-"
            if 0 < held.sum() < len(held):
                hc = np.array([getattr(r, head) for r in candidate.score_many(split.holdout.texts)])
                hb = np.array([getattr(r, head) for r in base.score_many(split.holdout.texts)])
                c_auc, b_auc = roc_auc_score(held, hc), roc_auc_score(held, hb)
                verdict = "better" if c_auc >= b_auc + settings.margin else "not better"
                check = f"{c_auc:.3f} vs {b_auc:.3f} on {len(held)}: {verdict}"
            print(f"{step:>7} {test.stop - test.start:>6} {base_auc:>9.3f} {site_auc:>9.3f} "
                  f"{site_auc - base_auc:>+7.3f}  {fit:>6.1f}  {check}", flush=True)
    print(f"\ntotal {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
