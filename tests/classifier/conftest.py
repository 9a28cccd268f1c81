"""Fixtures for the classifier tests: a tiny HAND-WRITTEN dataset tree and a model trained on it."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from moderation.classifier.commands import train_command

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = REPO / "models"

# Hand-written templates (not real data): enough variety for a logistic regression to learn
# something, small enough to train in about a second.
_ITEMS = ["watches", "pills", "followers", "likes", "phones", "shoes"]
_NAMES = ["karim", "sophie", "john", "amina", "youssef", "claire", "omar", "lea", "sami", "nadia"]
_TOPICS = ["budget", "election", "football match", "drought", "school reform", "train strike"]
_SPAM_EN = ["buy cheap {i} at www.deals-{n}.com", "win free {i} now, call +44 7911 12345{n}",
            "check out my channel for {i} http://bit.ly/x{n}", "earn money from home selling {i}, dm me {n}"]
_HAM_EN = ["i read the {t} article and agree with it", "the {t} coverage was fair this time",
           "my neighbour said the {t} will change little", "thanks for explaining the {t} so clearly"]
_SPAM_AR = ["اربح المال من البيت مع {i} تواصل واتساب {n}", "عرض خاص على {i} خصم كبير اتصل الان {n}"]
_HAM_AR = ["قرات المقال عن {t} وهو مفيد", "الحكومة تحدثت عن {t} اليوم في الاخبار"]
_ABUSE_EN = ["you are a stupid idiot {p}", "shut up you moron {p}", "what a pathetic loser you are {p}"]
_CLEAN_EN = ["i think the {t} plan is reasonable", "interesting point about the {t}", "the {t} was well explained"]
_ABUSE_FR = ["ferme ta gueule espece de con {p}", "{p} t es vraiment un abruti", "bande de debiles, {p} aussi"]
_CLEAN_FR = ["article interessant sur le {t}", "je ne suis pas d accord sur le {t}", "merci pour ce reportage sur le {t}"]
_ABUSE_AR = ["يا حمار يا غبي {p}", "انت كلب وسخ {p}", "اسكت يا تافه {p}"]
_CLEAN_AR = ["شكرا على المقال عن {t}", "موضوع {t} مهم جدا", "اتفق مع الكاتب في {t}"]


def _rows(templates, label, lang, source, count):
    out = []
    for k in range(count):
        step = k // len(templates)
        fields = {"i": _ITEMS[step % len(_ITEMS)], "t": _TOPICS[(step // 2) % len(_TOPICS)],
                  "p": _NAMES[step % len(_NAMES)], "n": k}
        out.append({"text": templates[k % len(templates)].format(**fields),
                    "label": label, "lang": lang, "source": source})
    return out


def write_tiny_datasets(root: Path) -> Path:
    """Write a datasets tree with the uniform columns and a manifest naming it; return the manifest."""
    sets = {
        "tiny_spam_en": ("spam", _rows(_SPAM_EN, 1, "en", "tiny_spam_en", 30) + _rows(_HAM_EN, 0, "en", "tiny_spam_en", 30)),
        "tiny_spam_ar": ("spam", _rows(_SPAM_AR, 1, "ar", "tiny_spam_ar", 20) + _rows(_HAM_AR, 0, "ar", "tiny_spam_ar", 20)),
        "tiny_abuse_en": ("abuse", _rows(_ABUSE_EN, 1, "en", "tiny_abuse_en", 30) + _rows(_CLEAN_EN, 0, "en", "tiny_abuse_en", 30)),
        "tiny_abuse_fr": ("abuse", _rows(_ABUSE_FR, 1, "fr", "tiny_abuse_fr", 30) + _rows(_CLEAN_FR, 0, "fr", "tiny_abuse_fr", 30)),
        "tiny_abuse_ar": ("abuse", _rows(_ABUSE_AR, 1, "ar", "tiny_abuse_ar", 30) + _rows(_CLEAN_AR, 0, "ar", "tiny_abuse_ar", 30)),
    }
    lines = ["seed = 7", ""]
    for folder, (head, rows) in sets.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        with open(root / folder / f"{folder}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["text", "label", "lang", "source"])
            writer.writeheader()
            writer.writerows(rows)
        lines += ["[[dataset]]", f'folder = "{folder}"', f'head = "{head}"', ""]
    manifest = root / "manifest.toml"
    manifest.write_text("\n".join(lines), encoding="utf-8")
    return manifest


@pytest.fixture(scope="session")
def tiny_datasets(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("datasets")
    return root, write_tiny_datasets(root)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory, tiny_datasets) -> Path:
    root, manifest = tiny_datasets
    models = tmp_path_factory.mktemp("models")
    train_command(datasets_dir=root, models_dir=models, manifest_path=manifest, version="test-1",
                  progress=False, min_df=1, max_features=5000, language_rows_per_class=100)
    return models


@pytest.fixture
def models_copy(tmp_path, tiny_models_dir) -> Path:
    """A private copy of the tiny model directory that a test may damage."""
    target = tmp_path / "models"
    shutil.copytree(tiny_models_dir, target)
    return target
