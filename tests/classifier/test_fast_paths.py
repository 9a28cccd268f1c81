"""The request path's shortcuts give exactly what the plain definitions give."""

import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.classifier import features, language, term_index
from moderation.classifier.features import normalise, terms_of_normalised
from moderation.classifier.scorer import _unique_counts
from moderation.classifier.term_index import TermIndex

# Characters that exercise the shortcuts: separators, single-character tokens, digits, Latin
# letters (with and without accents), Arabic, an emoji and a word character from the emoji range.
ASCII = st.text(alphabet=st.sampled_from(list("abzAZ09_ !?$.,'-*+/@\t\n&;")), max_size=60)
MIXED = st.text(alphabet=st.sampled_from(list("abzAZ09_ !?$.,'-*+/@éàçßﬁ€£ـةاملك١😂❶\u200b\u0301")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ASCII, MIXED))
def test_tokens_match_the_token_regex(text):
    assert features._tokens(text) == features._TOKEN_RE.findall(text)
    assert features.normalised_words(text) == normalise(text).split()


@settings(max_examples=300, deadline=None)
@given(st.one_of(ASCII, MIXED))
def test_latin_words_match_the_latin_word_regex(text):
    assert features._latin_words(text) == features._LATIN_WORD_RE.findall(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ASCII, MIXED))
def test_guards_never_skip_a_step_that_would_change_the_text(text):
    if features._SPACED_HINT_RE.search(text) is None:
        assert features._SPACED_RE.search(text) is None
    url_hint = "//" in text or features._DOT_LETTER_RE.search(text) is not None
    assert url_hint == (re.search(r"\.[^\W\d_]|//", text) is not None)


@pytest.mark.parametrize("text", ["xurlx merci", "wach xphonex nta hmar", "xuserx xemailx", "merci bien"])
def test_decide_gives_the_same_label_with_or_without_the_words(text):
    probs = [0.2, 0.5, 0.25, 0.05]
    classes = ["ar", "ary", "en", "fr"]
    assert language.decide(probs, classes, text, text.split()) == language.decide(probs, classes, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=80))
def test_unique_counts_is_numpy_unique(values):
    ids = np.array(values, dtype=np.int32)
    got, expected = _unique_counts(ids), np.unique(ids, return_counts=True)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()


def test_term_index_hash_table_survives_crowded_buckets(monkeypatch):
    # One slot per bucket: two n-grams in a bucket overflow it, so the table has to try other
    # multipliers and grow; every n-gram must still be found, and nothing else.
    monkeypatch.setattr(term_index, "_SLOTS", 1)
    letters = "abcde "
    grams = sorted({a + b + c for a in letters for b in letters for c in letters if (a + b + c).strip()})
    terms = grams + ["§ab", "§ab cd"]
    index = TermIndex(terms)
    assert index._table_keys.shape[1] == 1 and len(index._table_keys) > 2 * len(grams)
    vocab = {t: i for i, t in enumerate(terms)}
    for text in ["ab cd", "abcde edcba", "a b c d e", "zz ab"]:
        norm = normalise(text)
        expected = Counter(vocab[t] for t in terms_of_normalised(norm) if t in vocab)
        assert Counter(index.ids(norm).tolist()) == expected
