"""The fast scorer: same numbers as scikit-learn, batches, explanations, threads."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from moderation.classifier import load_model
from moderation.classifier.features import compose, normalise

from .conftest import SHIPPED_MODELS

# Hand-written inputs covering the normalisation paths and edge cases.
TEXTS = [
    "",
    "   ",
    "😂😂😂",
    "buy cheap pills at www.deals.com call +44 7911 123456",
    "you are a stupid idiot",
    "C O N N A R D, va te faire f0utre !!!",
    "شكرا على المقال المفيد جدا",
    "wach nta 7mar? sir t9awed",
    "Je trouve cet article très intéressant. " * 12,
    "mixed: merci شكرا thanks 3lik",
]


WEIRD = TEXTS + [
    "Ω≈ç√∫ 政府 🤡🤡 \U0001fae0 x",           # characters outside the vocabulary's alphabet
    "a", "ab", "abc", " \t\n ",
    "l'été dernier, à Fès… « guillemets » — tirets",
    "https://x.com/a?b=c @someone +212612345678 mail@x.fr",
    "\ud800 lone surrogate",
]


@pytest.fixture(scope="module", params=["tiny", "shipped"])
def model(request, tiny_models_dir):
    return load_model(tiny_models_dir if request.param == "tiny" else SHIPPED_MODELS)


def test_fast_path_equals_sklearn_predict_proba(model):
    for text in WEIRD:
        result = model.score(text)
        for head in ("spam", "abuse"):
            expected = model.pipeline(head).predict_proba([text])[0, 1]
            assert abs(getattr(result, head) - expected) <= 1e-9, (head, text)


def test_fast_language_probabilities_equal_sklearn(model):
    for text in WEIRD:
        expected = model.pipeline("language").predict_proba([text])[0]
        idx, values = model._vector(normalise(text))
        z = values @ model._w_lang[idx] + model._b_lang
        fast = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        assert np.max(np.abs(fast - expected)) <= 1e-9


def test_author_fields_are_scored_with_the_content(model):
    with_author = model.score("nice", author_name="Cheap Pills", author_url="http://pills.example.com")
    assert with_author.spam == pytest.approx(
        model.pipeline("spam").predict_proba([compose("nice", "Cheap Pills", "http://pills.example.com")])[0, 1],
        abs=1e-9)


def test_score_many_matches_score(model):
    batch = model.score_many(TEXTS)
    for text, b in zip(TEXTS, batch):
        one = model.score(text)
        assert abs(one.spam - b.spam) <= 1e-12 and abs(one.abuse - b.abuse) <= 1e-12
        assert one.language == b.language
    assert model.score_many([]) == []


def test_result_is_json_serialisable_and_complete(model):
    d = model.score("buy cheap pills at www.deals.com").as_dict()
    again = json.loads(json.dumps(d))
    assert set(again) == {"spam", "abuse", "language", "model", "explanation"}
    assert again["model"] == model.version
    assert 0.0 <= again["spam"] <= 1.0 and 0.0 <= again["abuse"] <= 1.0
    assert set(again["explanation"]) == {"spam", "abuse"}


def test_explanation_terms_are_readable_words_of_the_comment(model):
    text = "buy cheap pills at www.deals.com, you stupid idiot"
    norm = normalise(text)
    result = model.score(text)
    for head in ("spam", "abuse"):
        items = result.explanation[head]
        assert len(items) <= 5
        weights = [i["weight"] for i in items]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        for item in items:
            # every shown term is a word or phrase of the normalised comment, never a
            # fragment of a word
            assert f" {item['term']} " in f" {norm} "


def test_scoring_is_thread_safe(model):
    texts = TEXTS * 20
    expected = [model.score(t).as_dict() for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: model.score(t).as_dict(), texts))
    assert got == expected


def test_term_index_lists_exactly_the_analyser_terms(model):
    from collections import Counter

    from moderation.classifier.features import terms_of_normalised

    vocab = {t: i for i, t in enumerate(model.terms)}
    for text in WEIRD:
        norm = normalise(text)
        expected = Counter(vocab[t] for t in terms_of_normalised(norm) if t in vocab)
        assert Counter(model._index.ids(norm).tolist()) == expected, text


def test_fast_path_matches_sklearn_on_generated_text(tiny_models_dir):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    model = load_model(tiny_models_dir)
    pipe = model.pipeline("abuse")
    alphabet = st.sampled_from(list("abcdeilmnorstuy 0137@$.!?-_éàç") + list("ابتحكلمنهوي") + ["😂", "ß", "ﬁ"])

    @settings(max_examples=150, deadline=None)
    @given(st.text(alphabet=alphabet, max_size=120))
    def check(text):
        assert abs(model.score(text).abuse - pipe.predict_proba([text])[0, 1]) <= 1e-9

    check()
