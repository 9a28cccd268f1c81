"""Vocabulary lookup on the request path: the vocabulary ids of a normalised text's terms."""

from __future__ import annotations

from itertools import count, repeat

import numpy as np

from .features import CHAR_NGRAM_RANGE, WORD_PREFIX

# Ids are 32-bit (vocabularies are far smaller than 2**31): numpy sorts them twice as fast.
ID_DTYPE = np.int32
# Word and word-pair ids are kept as the bytes of their id, so that a comment's word ids are one
# bytes join and one frombuffer rather than a list of Python ints built into an array.
_NO_ID = b""
# Keys per bucket of the n-gram hash table: eight 8-byte keys fill one 64-byte cache line.
_SLOTS = 8
# Odd 64-bit multipliers for the bucket hash, tried in turn until no bucket overflows.
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                0x94D049BB133111EB, 0xBF58476D1CE4E5B9, 0x27D4EB2F165667C5, 0x165667B19E3779F9)


def _id_bytes(i: int) -> bytes:
    return np.array([i], dtype=ID_DTYPE).tobytes()


class TermIndex:
    """The ids of terms_of_normalised(text) that are in the vocabulary, with repeats, computed
    without building the character n-gram strings.

    Character n-grams are packed into integers (each character of the vocabulary's alphabet gets
    a small code, and a marker bit above the n codes tells the lengths apart) and looked up in a
    hash table of the vocabulary's packed n-grams; words and word pairs go through a dict. It must
    list exactly the terms terms_of_normalised lists (tests compare both on many texts); it exists
    because creating and hashing a thousand short strings per comment was most of the scoring time.
    """

    def __init__(self, terms: list[str]):
        lo, hi = CHAR_NGRAM_RANGE
        # Words are keyed by the token and word pairs by the token tuple: no string building.
        unigrams: dict[str, bytes] = {}
        bigrams: dict[tuple[str, str], bytes] = {}
        by_length: dict[int, tuple[list[int], list[str]]] = {n: ([], []) for n in range(lo, hi + 1)}
        strip = len(WORD_PREFIX)
        for i, term in enumerate(terms):
            if term.startswith(WORD_PREFIX):
                pair = term[strip:].split(" ")
                if len(pair) == 1:
                    unigrams[pair[0]] = _id_bytes(i)
                else:
                    bigrams[(pair[0], pair[1])] = _id_bytes(i)
            else:
                ids, grams = by_length[len(term)]
                ids.append(i)
                grams.append(term)
        self._unigram_get = unigrams.get
        self._bigram_get = bigrams.get
        joined = {n: "".join(grams) for n, (_, grams) in by_length.items()}
        alphabet = sorted(set("".join(joined.values())))
        self._bits = max(1, (len(alphabet) + 1).bit_length())
        if self._bits * hi > 63:  # the marker bit of the longest n-grams must fit in 64 bits
            raise ValueError("vocabulary alphabet too large to pack character n-grams")
        # Code 0 is "not in the alphabet": an n-gram containing it is in no vocabulary.
        size = (max(map(ord, alphabet)) + 2) if alphabet else 2
        self._codes = np.zeros(size, dtype=np.uint64)
        self._codes[[ord(ch) for ch in alphabet]] = np.arange(1, len(alphabet) + 1)
        keys = [self._pack(joined[n], n) for n in by_length]
        ids = [np.array(term_ids, dtype=ID_DTYPE) for term_ids, _ in by_length.values()]
        self._build_table(np.concatenate(keys), np.concatenate(ids))

    def _pack(self, text: str, n: int) -> np.ndarray:
        """Pack consecutive blocks of n characters (len(text) a multiple of n) into keys."""
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        codes = self._codes.take(points, mode="clip").reshape(-1, n)
        keys = np.ones(len(codes), dtype=np.uint64)  # the marker bit
        for k in range(n):
            keys = (keys << self._bits) | codes[:, k]
        return keys

    def _build_table(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Hash table of the n-gram keys: a key lives in one of the _SLOTS slots of its bucket.

        A lookup then reads one cache line of keys, where a binary search over a sorted table
        reads a dozen scattered ones: on a busy machine memory latency was most of the time
        (the table takes 12 bytes per slot, about 12 MB for 145,000 n-grams). Empty slots hold
        key 0, which no packed n-gram equals (they all have a marker bit).
        """
        # At most 1.5 keys per bucket on average: a bucket with more than _SLOTS keys is then
        # rare, and the next multiplier (or, that failing, twice the buckets) avoids it.
        first = max(1, int(len(keys) / 1.5).bit_length())
        for log_buckets, multiplier in ((lb, mult) for lb in count(first) for mult in _MULTIPLIERS):
            self._multiplier, self._shift = np.uint64(multiplier), np.uint64(64 - log_buckets)
            bucket = self._bucket(keys).astype(np.intp)
            if np.bincount(bucket, minlength=1).max() <= _SLOTS:
                break
        order = np.argsort(bucket, kind="stable")
        bucket = bucket[order]
        slot = np.arange(len(bucket)) - np.searchsorted(bucket, bucket)  # rank within the bucket
        self._table_keys = np.zeros((1 << log_buckets, _SLOTS), dtype=np.uint64)
        self._table_ids = np.zeros((1 << log_buckets, _SLOTS), dtype=ID_DTYPE)
        self._table_keys[bucket, slot] = keys[order]
        self._table_ids[bucket, slot] = ids[order]

    def _bucket(self, keys: np.ndarray) -> np.ndarray:
        # Multiplicative hashing: the top bits of key * odd constant (wrapping in 64 bits).
        return (keys * self._multiplier) >> self._shift

    def ids(self, normalised: str, toks: list[str] | None = None) -> np.ndarray:
        """Vocabulary ids (unordered, with repeats) of the terms of a normalised text; toks, when
        given, is normalised.split()."""
        if toks is None:
            toks = normalised.split()
        words = b"".join(map(self._unigram_get, toks, repeat(_NO_ID)))
        words += b"".join(map(self._bigram_get, zip(toks, toks[1:]), repeat(_NO_ID)))
        word_ids = np.frombuffer(words, dtype=ID_DTYPE)
        points = np.frombuffer(f" {normalised} ".encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # clip: code points past the table read its last entry, 0 ("not in the alphabet")
        codes = self._codes.take(points, mode="clip")
        lo, hi = CHAR_NGRAM_RANGE
        b = self._bits
        queries = []
        packed = codes | (1 << b)  # 1-grams with their marker bit
        for n in range(2, hi + 1):
            m = len(codes) - n + 1
            if m <= 0:
                break
            # the n-gram starting at i is the (n-1)-gram at i followed by character i+n-1
            packed = (packed[:m] << b) | codes[n - 1:n - 1 + m]
            if n >= lo:
                queries.append(packed)
        if not queries:
            return word_ids.copy()
        queries = np.concatenate(queries)
        bucket = self._bucket(queries)
        # Slot-major views, so that the comparison runs along the queries rather than eight at
        # a time. A key sits in at most one slot, so the mask picks one id per n-gram found.
        found = self._table_keys.take(bucket, axis=0).T == queries
        return np.concatenate((word_ids, self._table_ids.take(bucket, axis=0).T[found]))
