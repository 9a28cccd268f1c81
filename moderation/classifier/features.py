"""Text normalisation and the term analyser: the only definition of the classifier's features."""

from __future__ import annotations

import html
import re
import unicodedata

# Term kinds are told apart by a prefix so that a word never shares a vocabulary slot with a
# character n-gram that happens to have the same letters. Character n-grams carry no prefix
# because there are many more of them per comment and a prefix would cost time on every one.
WORD_PREFIX = "§"
CHAR_NGRAM_RANGE = (3, 4)

# Placeholder words: letters only, so that they survive tokenisation, and spelled so that no
# real word in the four languages collides with them. They keep counting as evidence
# (a URL is a strong spam signal) without the vocabulary having to hold every URL.
URL, EMAIL, PHONE, HANDLE = "xurlx", "xemailx", "xphonex", "xuserx"

# A dot before a letter, or "//": a URL may follow. Searched apart from "//" because a pattern
# starting with one literal character is scanned for with a fast loop.
_DOT_LETTER_RE = re.compile(r"\.[^\W\d_]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.-])[\w-]++(?:\.[\w-]++)++(?:/\S*)?")
# Bare domains count as URLs only with a top-level domain that spam actually uses, so that
# "fin.Puis" (a missing space) stays two words.
_TLDS = frozenset("com net org info biz ly io co me fr ma xyz ru uk us tk gl online site shop top club link".split())
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HANDLE_RE = re.compile(r"(?<![\w@])@\w+")
# Eight or more digits, optionally split by spaces, dots, dashes or brackets, optionally with
# a leading + : covers "+212 6 12 34 56 78", "06.12.34.56.78" and "08452810075".
_PHONE_RE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]?\d){7,}(?!\w)")
# A run of three or more single characters split by one separator: "c o n n a r d",
# "s.p.a.m", "f-u-c-k". Written this way to catch filter dodging, not to join real initials.
_SPACED_RE = re.compile(r"(?<!\w)(?:\w[ .\-_*+]){2,}\w(?!\w)")
_SPACED_SEP_RE = re.compile(r"[ .\-_*+]")
# What every such run ends with (separator, one character, separator, a last character): a
# cheap scan that rules out most comments before the costlier pattern runs.
_SPACED_HINT_RE = re.compile(r"[ .\-_*+]\w[ .\-_*+]\w(?!\w)")
# Words mixing at least two Latin letters with digits, except ordinals and units ("1st",
# "20h", "10km") which are not disguised letters.
_LATIN_DIGIT_WORD_RE = re.compile(
    r"(?<![\w@$])(?!\d+(?:st|nd|rd|th|er|eme|e|h|km|kg|min|mn|dh|mad|k|m|am|pm|s)\b)"
    r"(?=(?:[0-9@$]*[a-z]){2})(?=\w*[0-9@$])[a-z0-9@$]+(?![\w@$])"
)
# Letters repeated three times or more: Latin runs shrink to one ("nuuuul" -> "nul"), other
# scripts to two, because Arabic doubles are meaningful ("هه" laughter, "الله").
_ELONGATED_RE = re.compile(r"(.)\1\1+")
_DIGIT_RUN_RE = re.compile(r"\d(?:[\s().-]?\d){7}")
_PUNCT_RUN_RE = re.compile(r"([!?.])\1+")
_DIGITISH_RE = re.compile(r"[0-9@$]")
# A word that mixes letters and digits has a letter next to a digit somewhere: comments full of
# numbers (dates, amounts, ids) without such a word skip the walk of _digits_as_letters.
_LETTER_BY_DIGIT_RE = re.compile(r"[a-z][0-9@$]|[0-9@$][a-z]")
_TOKEN_RE = re.compile(r"\w+|[!?$€£\U0001F300-\U0001FAFF\u2600-\u27BF]")

# Leetspeak and Arabizi both write letters with digits and disagree on 3, 7, 5, 8 and 2, so the
# whole comment picks one reading: Arabizi when it shows Darija cues, leetspeak otherwise.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_ARABIZI = {"2": "a", "3": "a", "5": "kh", "7": "h", "8": "gh", "9": "q", "0": "o", "1": "i", "4": "a", "@": "a", "$": "s"}
_ARABIZI_DIGIT_CUE_RE = re.compile(r"[379][a-z]{2}\w*|\w*[a-z][79]\w*")
_DARIJA_CUES = frozenset(
    "dyal dial wach wash bzaf bezzaf chno achno kifach wakha mzyan mezyan machi walakin daba "
    "hadchi ghir bghit kayn kayna safi wlah wallah khoya zebi zamel hmar lhmar nta nti".split()
)
_LATIN_WORD_RE = re.compile(r"[a-z]+")
# For ASCII text, str.translate with one-character values runs in a fast C loop, much faster
# than a regex pass: these tables turn everything but Latin letters (or but token characters)
# into spaces, so that split() lists the same words as the regexes.
_NOT_LATIN_LETTERS = {c: " " for c in range(128) if not 97 <= c <= 122}
_SINGLE_TOKENS = "!?$"  # the ASCII characters _TOKEN_RE takes as tokens on their own
_ASCII_GAPS = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) in "_" + _SINGLE_TOKENS)}
_WORD_CHARS_RE = re.compile(r"[\w@$]*")

# Arabic: teh marbuta and alef maqsura are written interchangeably with heh and yeh in social
# media, Persian keheh/farsi yeh appear in copy-pasted text. Hamza carriers and diacritics go
# with the combining-mark removal below (NFD splits them off).
_ARABIC_MAP = {
    "ة": "ه", "ى": "ي", "ـ": "", "ک": "ك", "ی": "ي", "ٱ": "ا", "ء": "",
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}
_ARABIC_RE = re.compile("[" + "".join(_ARABIC_MAP) + "]")
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u00ad]")


def _url(match: re.Match) -> str:
    found = match.group(0)
    if found.startswith(("http", "www.")):
        return f" {URL} "
    host = found.split("/", 1)[0]
    return f" {URL} " if host.rsplit(".", 1)[-1] in _TLDS else found


def _arabic_letter(match: re.Match) -> str:
    return _ARABIC_MAP[match.group(0)]


def _shorten_run(match: re.Match) -> str:
    ch = match.group(1)
    if not ch.isalpha():
        return match.group(0)
    return ch if ch.isascii() else ch + ch


# Combining marks of the Latin and Arabic blocks (accents, harakat, hamza above/below, madda,
# Quranic signs). Commenters drop accents and vowel marks at will, so the model should not
# see them; a class of ranges is much faster than testing each character's category.
_MARKS_RE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u20d0-\u20ff\ufe20-\ufe2f]"
)


def _strip_marks(text: str) -> str:
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _MARKS_RE.sub("", unicodedata.normalize("NFD", text)))


def _join_spaced(match: re.Match) -> str:
    joined = _SPACED_SEP_RE.sub("", match.group(0))
    # "1 2 3" and "a 1 b" are not dodges; a dodge spells mostly letters.
    if sum(ch.isalpha() for ch in joined) < 2:
        return match.group(0)
    return joined


def _digits_as_letters(text: str) -> str:
    # Walk from each digit to the word around it instead of matching words everywhere: digits
    # are rare in comments, and this runs on every one.
    rev = text[::-1]
    size = len(text)
    spans: list[tuple[int, int]] = []
    last_end = -1
    for m in _DIGITISH_RE.finditer(text):
        at = m.start()
        if at < last_end:
            continue
        start = at - _WORD_CHARS_RE.match(rev, size - at).end() + (size - at)
        last_end = _WORD_CHARS_RE.match(text, at).end()
        if _LATIN_DIGIT_WORD_RE.fullmatch(text, start, last_end):
            spans.append((start, last_end))
    if not spans:
        return text
    words = [text[a:b] for a, b in spans]
    arabizi = (any(_ARABIZI_DIGIT_CUE_RE.fullmatch(w) for w in words)
               or not _DARIJA_CUES.isdisjoint(_latin_words(text)))
    pieces, prev = [], 0
    for (a, b), word in zip(spans, words):
        pieces.append(text[prev:a])
        pieces.append("".join(_ARABIZI.get(ch, ch) for ch in word) if arabizi else word.translate(_LEET))
        prev = b
    pieces.append(text[prev:])
    return "".join(pieces)


def _latin_words(text: str) -> list[str]:
    """_LATIN_WORD_RE.findall(text); for ASCII text, str.translate and split() do it faster."""
    return text.translate(_NOT_LATIN_LETTERS).split() if text.isascii() else _LATIN_WORD_RE.findall(text)


def normalise(text: str) -> str:
    """Return the canonical form the features are computed from (see module notes)."""
    return " ".join(normalised_words(text))


def normalised_words(text: str) -> list[str]:
    """normalise(text).split(), without the join and the split (the scorer needs both forms)."""
    # Each step is guarded by a cheap test: this runs on every comment in the request path.
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _ZERO_WIDTH_RE.sub("", text)
    if "@" in text:
        text = _HANDLE_RE.sub(f" {HANDLE} ", _EMAIL_RE.sub(f" {EMAIL} ", text))
    if "//" in text or _DOT_LETTER_RE.search(text):
        text = _URL_RE.sub(_url, text)
    if _DIGIT_RUN_RE.search(text):
        text = _PHONE_RE.sub(f" {PHONE} ", text)
    if not text.isascii():
        text = _strip_marks(text)
        if not text.isascii():  # French is ASCII once its accents are gone
            text = _ARABIC_RE.sub(_arabic_letter, text)
    if _SPACED_HINT_RE.search(text):
        text = _SPACED_RE.sub(_join_spaced, text)
    if _LETTER_BY_DIGIT_RE.search(text):
        text = _digits_as_letters(text)
    text = _ELONGATED_RE.sub(_shorten_run, text)
    if "!!" in text or "??" in text or ".." in text:
        text = _PUNCT_RUN_RE.sub(r"\1", text)
    return _tokens(text)


def _tokens(text: str) -> list[str]:
    """The tokens _TOKEN_RE finds. ASCII text (most comments once accents are gone) takes a
    faster way: single-character tokens get spaces around them, other non-word characters become
    spaces, and split() does the rest."""
    if not text.isascii():
        return _TOKEN_RE.findall(text)
    for ch in _SINGLE_TOKENS:
        if ch in text:
            text = text.replace(ch, f" {ch} ")
    return text.translate(_ASCII_GAPS).split()


def terms_of_normalised(normalised: str) -> list[str]:
    """All terms of an already normalised text: words, word pairs and character n-grams."""
    toks = normalised.split()
    out = [WORD_PREFIX + t for t in toks]
    out += [f"{WORD_PREFIX}{a} {b}" for a, b in zip(toks, toks[1:])]
    padded = f" {normalised} "
    size = len(padded)
    lo, hi = CHAR_NGRAM_RANGE
    for n in range(lo, hi + 1):
        out += [padded[i:i + n] for i in range(size - n + 1)]
    return out


def analyse(text: str) -> list[str]:
    """The scikit-learn analyzer: normalise, then list the terms. Used by training and scoring."""
    return terms_of_normalised(normalise(text))


def compose(content: str, author_name: str = "", author_url: str = "") -> str:
    """Join the comment and its author fields into the one text the model reads.

    The author's name and URL carry spam signals (brand names, link farms); appending them
    lets the same features see them without a second model.
    """
    parts = [content or ""]
    if author_name:
        parts.append(author_name)
    if author_url:
        parts.append(author_url)
    return "\n".join(parts)


def display_term(term: str) -> str:
    """A term as a moderator should read it (no internal prefix, no padding)."""
    return term[len(WORD_PREFIX):] if term.startswith(WORD_PREFIX) else term.strip()

