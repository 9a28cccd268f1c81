"""The training corpus: reading the manifest, the dataset CSVs and the hand-written examples."""

from __future__ import annotations

import csv
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MANIFEST = Path(__file__).with_name("manifest.toml")
HEADS = ("spam", "abuse")
LANGUAGES = ("fr", "en", "ar", "ary")
HANDWRITTEN_GROUP = "handwritten"


def default_datasets_dir(repo_root: Path | None = None) -> Path:
    """MODERATION_DATASETS_DIR, else ../shared/datasets next to repo_root (default: the current
    directory; the package cannot know where its repository is once installed)."""
    env = os.environ.get("MODERATION_DATASETS_DIR")
    if env:
        return Path(env)
    root = repo_root or Path.cwd()
    return (root / ".." / "shared" / "datasets").resolve()


@dataclass
class Corpus:
    """Rows of every head side by side; a row belongs to exactly one head."""

    texts: list[str]
    labels: np.ndarray
    heads: np.ndarray
    langs: np.ndarray
    sources: np.ndarray
    groups: np.ndarray
    handwritten: np.ndarray
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> "Corpus":
        return Corpus(
            texts=[self.texts[i] for i in index],
            labels=self.labels[index], heads=self.heads[index], langs=self.langs[index],
            sources=self.sources[index], groups=self.groups[index],
            handwritten=self.handwritten[index], files=dict(self.files),
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _handwritten_rows(path: Path):
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    for block in data["set"]:
        for text in block["texts"]:
            yield text, int(block["label"]), block["head"], block["lang"]


def load_corpus(datasets_dir: Path, manifest_path: Path = MANIFEST,
                limit_per_dataset: int | None = None, seed: int = 0) -> Corpus:
    """Read every dataset the manifest names plus the hand-written examples.

    limit_per_dataset keeps a seeded random sample of each dataset (for tests and quick runs).
    """
    manifest = read_manifest(manifest_path)
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {k: [] for k in ("text", "label", "head", "lang", "source", "group", "hand")}
    files: dict[str, str] = {}
    for entry in manifest["dataset"]:
        folder = entry["folder"]
        path = Path(datasets_dir) / folder / f"{folder}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"dataset file missing: {folder}/{folder}.csv under {datasets_dir}")
        files[f"{folder}/{folder}.csv"] = sha256_file(path)
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["text"].strip() and r["label"] in ("0", "1")]
        if limit_per_dataset and len(rows) > limit_per_dataset:
            keep = np.sort(rng.choice(len(rows), limit_per_dataset, replace=False))
            rows = [rows[i] for i in keep]
        for r in rows:
            cols["text"].append(r["text"])
            cols["label"].append(int(r["label"]))
            cols["head"].append(entry["head"])
            cols["lang"].append(r["lang"])
            cols["source"].append(r["source"])
            cols["group"].append(r["source"] if entry.get("group_by") == "source" else folder)
            cols["hand"].append(False)
    hand = manifest.get("handwritten")
    if hand:
        hpath = manifest_path.with_name(hand["file"])
        files[f"moderation/classifier/{hand['file']}"] = sha256_file(hpath)
        for text, label, head, lang in _handwritten_rows(hpath):
            cols["text"].append(text)
            cols["label"].append(label)
            cols["head"].append(head)
            cols["lang"].append(lang)
            cols["source"].append(HANDWRITTEN_GROUP)
            cols["group"].append(HANDWRITTEN_GROUP)
            cols["hand"].append(True)
    return Corpus(
        texts=cols["text"], labels=np.array(cols["label"], dtype=np.int64),
        heads=np.array(cols["head"]), langs=np.array(cols["lang"]),
        sources=np.array(cols["source"]), groups=np.array(cols["group"]),
        handwritten=np.array(cols["hand"], dtype=bool), files=files,
    )


def dedupe(corpus: Corpus, normalised: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows to keep and their labels: one row per (head, normalised text), majority label,
    ties dropped.

    Near-duplicates (retweets, copy-pasted spam, case and elongation variants, the same text
    with another number in it) collapse to the same key; keeping them would let a held-out
    source share rows with training and would over-weight repeated texts.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (head, norm) in enumerate(zip(corpus.heads, normalised)):
        key = (head, " ".join(w for w in norm.split() if not w.isdigit()))
        groups.setdefault(key, []).append(i)
    keep, labels = [], []
    for members in groups.values():
        mean = corpus.labels[members].mean()
        if mean == 0.5:
            continue
        keep.append(members[0])
        labels.append(int(mean > 0.5))
    order = np.argsort(keep, kind="stable")
    return np.array(keep, dtype=np.int64)[order], np.array(labels, dtype=np.int64)[order]
