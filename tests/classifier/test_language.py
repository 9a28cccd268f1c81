"""Language detection: the decision rule, and the shipped detector on HAND-WRITTEN sentences."""

import numpy as np
import pytest

from moderation.classifier import load_model
from moderation.classifier.language import OTHER, decide

from .conftest import SHIPPED_MODELS

CLASSES = ["ar", "ary", "en", "fr"]

# Hand-written by the team for this test; not evaluation data.
SENTENCES = {
    "fr": [
        "Je ne comprends pas pourquoi le gouvernement attend encore pour agir",
        "Merci pour cet article, il explique bien la situation des agriculteurs",
        "Les prix ont encore augmenté ce mois-ci, c'est difficile pour les familles",
    ],
    "en": [
        "I do not understand why the government is still waiting to act",
        "Thanks for this article, it explains the situation of farmers well",
        "Prices went up again this month and families are struggling",
    ],
    "ar": [
        "لا أفهم لماذا تنتظر الحكومة حتى الآن لاتخاذ قرار",
        "شكرا على هذا المقال الذي يشرح وضع الفلاحين بشكل جيد",
        "ارتفعت الأسعار مرة أخرى هذا الشهر والعائلات تعاني",
    ],
    "ary": [
        "ma fhemtch 3lach l7okouma mazal katsna bach tdir chi haja",
        "wach kayn chi wa7ed 3ref fin ghadi ykoun lmatch had sbt",
        "علاش الحكومة مازال كاتسنا و ما دارت والو",
        "الأسعار طلعات بزاف هاد الشهر و الناس ما بقاوش قادرين",
    ],
}


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED_MODELS)


@pytest.mark.parametrize("lang,text", [(lang, t) for lang, texts in SENTENCES.items() for t in texts])
def test_shipped_detector_on_hand_written_sentences(shipped, lang, text):
    assert shipped.score(text).language == lang


@pytest.mark.parametrize("text", [
    "Я не понимаю, почему правительство ждёт",      # Cyrillic
    "政府为什么还在等待",                              # Chinese
    "😂😂😂 👍",                                     # emoji only
    "12345 678",                                    # numbers only
    "",
])
def test_shipped_detector_says_other_for_what_it_cannot_know(shipped, text):
    assert shipped.score(text).language == OTHER


def test_decide_routes_other_scripts_to_other():
    probs = np.array([0.0, 0.0, 0.9, 0.1])
    assert decide(probs, CLASSES, "שלום לכולם מה שלומכם") == OTHER


def test_decide_requires_confidence():
    # Latin letters, but the model sees Arabic: it does not know what this is.
    assert decide(np.array([0.6, 0.1, 0.2, 0.1]), CLASSES, "some latin words here") == OTHER
    assert decide(np.array([0.1, 0.1, 0.7, 0.1]), CLASSES, "some latin words here") == "en"


def test_latin_script_darija_needs_darija_words_or_near_certainty():
    lean_ary = np.array([0.03, 0.85, 0.02, 0.10])
    # "merci" alone leans to Darija (French code-switching in the Darija data): French wins
    assert decide(lean_ary, CLASSES, "merci") == "fr"
    assert decide(lean_ary, CLASSES, "wach nta hmar") == "ary"
    assert decide(np.array([0.01, 0.97, 0.01, 0.01]), CLASSES, "sahbi andek") == "ary"


def test_decide_pools_arabic_and_darija_before_the_confidence_test():
    # 0.45 + 0.4: certainly Arabic script language, Darija slightly ahead.
    assert decide(np.array([0.4, 0.45, 0.1, 0.05]), CLASSES, "واش كاين شي حد") == "ary"


def test_placeholders_alone_are_not_a_language():
    assert decide(np.array([0.0, 0.0, 1.0, 0.0]), CLASSES, "xurlx xphonex") == OTHER


def test_decide_uses_cue_words_between_arabic_and_darija():
    lean_ary = np.array([0.3, 0.6, 0.05, 0.05])
    assert decide(lean_ary, CLASSES, "واش كاين شي حد فين غادي") == "ary"
    assert decide(lean_ary, CLASSES, "لماذا لم تعلن الحكومة عن هذه الاجراءات") == "ar"
    # no cue word: a mild lean towards Darija is not enough (see ARY_WITHOUT_CUES)
    assert decide(lean_ary, CLASSES, "ارتفعت الاسعار مره اخري") == "ar"
    assert decide(np.array([0.02, 0.96, 0.01, 0.01]), CLASSES, "ارتفعت الاسعار مره اخري") == "ary"
