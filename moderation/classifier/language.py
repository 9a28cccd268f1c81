"""Language detection (fr, en, ar, ary, other) from the shared features plus a script check."""

from __future__ import annotations

import re

import numpy as np
from sklearn.linear_model import LogisticRegression

from .dataset import LANGUAGES
from .features import EMAIL, HANDLE, PHONE, URL

OTHER = "other"
# Below this probability the best of the four languages is not trusted. Arabic and Darija share
# a script and many words, so their probabilities are pooled before the test (see decide()).
MIN_CONFIDENCE = 0.5
# Arabic-script text with no cue word is called Darija only above this share of ar + ary.
ARY_WITHOUT_CUES = 0.9
# Latin-script text with no Darija word is called Darija only above this share of fr+en+ary.
ARY_WITHOUT_CUES_LATIN = 0.95
# Share of letters that must be Latin or Arabic for one of the four languages to be possible.
MIN_SCRIPT_SHARE = 0.5

_KNOWN = "a-z\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"
# Letters of any other script (Cyrillic, CJK, Hebrew...). Searched first because it is usually
# absent, which keeps this check cheap on the request path.
_OTHER_LETTER_RE = re.compile(f"[^\\W\\d_{_KNOWN}]")
_KNOWN_LETTER_RE = re.compile(f"[{_KNOWN}]")
_ARABIC_LETTER_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER_RE = re.compile("[a-z]")
_TWO_KNOWN_RE = re.compile(f"[{_KNOWN}][^{_KNOWN}]*[{_KNOWN}]")
# Function words that tell Moroccan Darija from Modern Standard Arabic in Arabic script, in
# normalised spelling (features.normalise: hamza dropped, ة -> ه, ى -> ي). The training data
# confounds the two with style: all Arabic-script Darija comes from one clean source (MDOD),
# while "ar" is mostly noisy tweets, so the model alone calls tidy MSA "ary". These lists break
# the tie with words a reader would use to tell them apart.
_DARIJA_WORDS = frozenset(
    "ديال ديالي ديالك ديالو ديالها ديالنا ديالهم واش بزاف دابا علاش كيفاش فين شنو اشنو مزيان "
    "غادي هادشي هاد هادي هادو ماشي والو خويا بغيت بغا بغينا كاين كاينه كاينين ماكاين مكاينش راه "
    "راك راني حتا صافي واخا زوين بصح غير معايا ليا ديما كنقول كيقول كيدير كندير بلاصه اللي بحال "
    "باش هدا هدي حيت حنا عندي سير دير ديرو مازال مزال بزف كولشي كلشي دراري".split()
)
_MSA_WORDS = frozenset(
    "الذي التي الذين اللذين لماذا سوف ليس ليست لقد هذه ذلك تلك لكن ايضا حيث جدا منذ حول بشكل "
    "خلال يجب عندما حتي الي علي اذا قد لم لن هل كيف".split()
)
# Frequent Darija words in Latin script, in normalised spelling (Arabizi digits already read as
# letters: 3 -> a, 7 -> h, 9 -> q; elongations shortened).
_DARIJA_LATIN_WORDS = frozenset(
    "wach wash dyal dial dyali dyalek dyalo dyalna bzaf bezaf bezzaf chno achno chnou kifach kifash "
    "wakha mzyan mezyan mzian machi mashi walakin walaken daba hadchi hadshi ghir bghit bghiti bgha "
    "kayn kayna kaynin makaynch makayn safi wlah wallah walah khoya khouya khti zebi zamel hmar lhmar "
    "nta nti ntouma ntoma homa howa hiya hna ana alach lach alah chi had hadi hado hadak hadik dak "
    "dik rah raha rak rani bach ghadi gha kan kanu kandir kaydir kanqol bnadem drari flous lflous "
    "lyoum nchallah inchallah hamdullah hamdoulilah sahbi afak aafak bslama salam mrhba lah llah "
    "tbarklah tbarkallah zwin zwina bzf fhamti fhemti ghaliya ghalia kolchi kulchi wsh hada hta "
    "sir ila ala lli bhal hna".split()
)
_PLACEHOLDERS = (URL, EMAIL, PHONE, HANDLE)
_PLACEHOLDER_RE = re.compile(r"\b(?:" + "|".join(_PLACEHOLDERS) + r")\b")


def sample_rows(langs: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Up to per_class rows of each language, seeded: keeps Arabic (95k rows) from dominating."""
    rng = np.random.default_rng(seed)
    picked = []
    for lang in LANGUAGES:
        idx = np.flatnonzero(langs == lang)
        if len(idx) > per_class:
            idx = np.sort(rng.choice(idx, per_class, replace=False))
        picked.append(idx)
    return np.sort(np.concatenate(picked))


def fit(X, langs: np.ndarray, C: float) -> LogisticRegression:
    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
    clf.fit(X, langs)
    return clf


def decide(probabilities, classes: list[str], normalised: str, words: list[str] | None = None) -> str:
    """Turn the model's probabilities and the text's script into one label.

    The model only knows four languages, so it always answers one of them; the script share and
    a confidence floor route text it cannot judge (other scripts, emoji only, numbers, very low
    confidence) to "other". words, when given, is normalised.split() (the scorer has it already).
    """
    # Substring tests first: a regex pass over the whole comment costs ten times more, and most
    # comments hold no placeholder.
    has_placeholder = any(p in normalised for p in _PLACEHOLDERS)
    text = _PLACEHOLDER_RE.sub(" ", normalised) if has_placeholder else normalised
    if has_placeholder or words is None:
        words = text.split()
    if text.isascii():
        # Accents are gone after normalisation, so most French and English text takes this
        # path: Latin letters only, no script counting needed.
        if _TWO_KNOWN_RE.search(text) is None:
            return OTHER
        return _latin(dict(zip(classes, probabilities)), words)
    other = len(_OTHER_LETTER_RE.findall(text))
    if other:
        known = _KNOWN_LETTER_RE.subn("", text)[1]
        if known < 2 or known / (known + other) < MIN_SCRIPT_SHARE:
            return OTHER
    elif _TWO_KNOWN_RE.search(text) is None:
        return OTHER
    probs = dict(zip(classes, probabilities))
    arabic_script = _ARABIC_LETTER_RE.search(text) is not None
    latin_script = _LATIN_LETTER_RE.search(text) is not None
    if arabic_script and not latin_script:
        return _arabic_or_darija(probs, words)
    if latin_script and not arabic_script:
        return _latin(probs, words)
    best = max(probs, key=probs.get)
    if best in ("ar", "ary"):
        return _arabic_or_darija(probs, words)
    return best if probs[best] >= MIN_CONFIDENCE else OTHER


def _arabic_or_darija(probs: dict, words: list[str]) -> str:
    pooled = probs.get("ar", 0.0) + probs.get("ary", 0.0)
    if pooled < MIN_CONFIDENCE:
        return OTHER
    # isdisjoint runs in C; most comments have no cue word, so the counts are rarely needed.
    darija = 0 if _DARIJA_WORDS.isdisjoint(words) else sum(map(_DARIJA_WORDS.__contains__, words))
    msa = 0 if _MSA_WORDS.isdisjoint(words) else sum(map(_MSA_WORDS.__contains__, words))
    if darija != msa:
        return "ary" if darija > msa else "ar"
    # Without cue words, the model's lean towards Darija is mostly the style of its one
    # source; only a strong lean counts.
    return "ary" if probs.get("ary", 0.0) / pooled >= ARY_WITHOUT_CUES else "ar"


def _latin(probs: dict, words: list[str]) -> str:
    """Latin script: French, English, or Darija written in Arabizi.

    Latin-script Darija in the data (MDOD) is full of French code-switching, so the model calls
    short French ("merci", "très bien") Darija. Darija is kept when Darija words back it or the
    model is nearly certain; otherwise the better of French and English is taken.
    """
    latin = probs.get("fr", 0.0) + probs.get("en", 0.0) + probs.get("ary", 0.0)
    if latin < MIN_CONFIDENCE:
        return OTHER
    darija = 0 if _DARIJA_LATIN_WORDS.isdisjoint(words) else sum(map(_DARIJA_LATIN_WORDS.__contains__, words))
    ary_share = probs.get("ary", 0.0) / latin
    if darija >= 2 or (darija and ary_share >= 0.3) or ary_share >= ARY_WITHOUT_CUES_LATIN:
        return "ary"
    return "fr" if probs.get("fr", 0.0) >= probs.get("en", 0.0) else "en"
