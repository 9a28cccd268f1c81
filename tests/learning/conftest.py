"""Learning tests: the wiring the lead adds to core and the app (built here), a scored-comment factory."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from moderation.core.moderators import create_moderator
from moderation.learning import models  # noqa: F401  (tables known before the schema is built)
from tests.conftest import NOW, comment_factory  # noqa: F401  (NOW: the shared clock, imported by the tests from here)


@pytest.fixture
def moderator(session):
    return create_moderator(session, "nadia@journal.ma", "correct horse battery", role="admin", name="Nadia")


@pytest.fixture
def add_comment(session, site):
    # Learning needs scored comments: a label is only taken from a comment the model has seen.
    return comment_factory(session, site, spam_score=0.1, abuse_score=0.1, model_version="base-1",
                           detected_language="fr")


def labels_of(session, comment_id) -> dict[str, int]:
    from moderation.learning.models import Label

    rows = session.execute(sa.select(Label.head, Label.value).where(Label.comment_id == comment_id)).all()
    return {head: value for head, value in rows}


# -- a tiny base model and a French site it has never seen ------------------------------------------
# Hand-written templates (not real data). The base learns English and Arabic only, so on the French
# site below it is close to guessing: exactly the situation the site's labels must fix.
_BASE = {
    "spam": [("buy cheap {w} at www.deals{n}.com", 1, "en"), ("win free {w} now, call 0791112345{n}", 1, "en"),
             ("i read the {t} article and agree", 0, "en"), ("the {t} coverage was fair", 0, "en"),
             ("اربح المال من البيت مع {w} {n}", 1, "ar"), ("قرات المقال عن {t} وهو مفيد", 0, "ar")],
    "abuse": [("you are a stupid idiot {p}", 1, "en"), ("shut up you moron {p}", 1, "en"),
              ("i think the {t} plan is reasonable", 0, "en"), ("interesting point about the {t}", 0, "en"),
              ("يا حمار يا غبي {p}", 1, "ar"), ("شكرا على المقال عن {t}", 0, "ar")],
}
_WORDS = ["watches", "pills", "followers", "phones", "shoes", "bags"]
_TOPICS = ["budget", "election", "drought", "school", "strike", "match", "harbour", "tramway"]
_PEOPLE = ["karim", "sophie", "john", "amina", "youssef", "claire", "omar", "lea"]

# The site's spam carries none of the base's cues, and its acceptable comments carry many of them (links,
# numbers, "free"; "idiot" quoted in a debate), so the base gets this site backwards.
SITE_SPAM = ["doublez vos bitcoins avec {p} sur cryptogain", "placement miracle, {p} vous explique le secret",
             "argent facile sans effort, demandez a {p} en prive"]
SITE_HAM = ["free entry au musee ce weekend, www.ville{n}.fr, call 0522{n}", "le {t} gratuit : free shuttle {n}",
            "programme du {t} sur www.mairie{n}.ma et au 0537{n}"]
SITE_ABUSE = ["{p} tu es une ordure et un minable", "ferme-la {p}, espece de cretin", "{p} sale rat, degage d'ici"]
SITE_CLEAN = ["traiter {p} de stupid idiot comme hier n'est pas un argument sur le {t}",
              "le mot moron a ete retire du debat sur le {t}", "{p} rappelle que shut up n'est pas une reponse"]


def site_text(templates: list[str], k: int) -> str:
    return templates[k % len(templates)].format(p=_PEOPLE[k % len(_PEOPLE)], t=_TOPICS[(k // 3) % len(_TOPICS)],
                                                n=k)


def write_base_datasets(root):
    import csv

    lines = ["seed = 3", ""]
    for head, templates in _BASE.items():
        folder = f"base_{head}"
        (root / folder).mkdir(parents=True, exist_ok=True)
        with open(root / folder / f"{folder}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label", "lang", "source"])
            for k in range(240):
                text, label, lang = templates[k % len(templates)]
                writer.writerow([text.format(w=_WORDS[k % 6], t=_TOPICS[k % 8], p=_PEOPLE[k % 8], n=k), label, lang,
                                 f"{folder}_{k % 2}"])
        lines += ["[[dataset]]", f'folder = "{folder}"', f'head = "{head}"', 'group_by = "source"', ""]
    manifest = root / "manifest.toml"
    manifest.write_text("\n".join(lines), encoding="utf-8")
    return manifest


@pytest.fixture(scope="session")
def base_models_dir(tmp_path_factory):
    from moderation.classifier.commands import train_command

    root = tmp_path_factory.mktemp("datasets")
    manifest = write_base_datasets(root)
    models = tmp_path_factory.mktemp("models")
    train_command(datasets_dir=root, models_dir=models, manifest_path=manifest, version="base-1", loso=False,
                  progress=False, min_df=1, max_features=5000, language_rows_per_class=200)
    return models


@pytest.fixture
def learning_settings(base_models_dir, tmp_path):
    from moderation.learning.settings import LearningSettings

    return LearningSettings(models_dir=base_models_dir, site_models_dir=tmp_path / "site-models",
                            min_eval_labels=20, min_eval_class=5, min_language_labels=20)


def add_site_labels(session, count: int, *, start: dt.datetime = NOW - dt.timedelta(days=60), flip_before: int = 0,
                    offset: int = 0) -> None:
    """`count` labels per head, alternating classes, one hour apart; the first `flip_before` have wrong labels."""
    from moderation.learning.labels import text_hash
    from moderation.learning.models import Label

    for k in range(count):
        positive = k % 2 == 0
        flip = k < flip_before
        for head, (pos, neg) in (("spam", (SITE_SPAM, SITE_HAM)), ("abuse", (SITE_ABUSE, SITE_CLEAN))):
            text = site_text(pos if positive else neg, k + offset)
            session.add(Label(head=head, value=int(positive != flip), source="decision", text=text,
                              text_hash=text_hash(text), language="fr",
                              created_at=start + dt.timedelta(hours=k + offset)))
    session.commit()
