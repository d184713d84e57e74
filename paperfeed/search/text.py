"""The one text analyser of the keyword index: what a word is, for documents, queries and snippets alike.

Tokens are produced here, in Python, and handed to tantivy already analysed (its `whitespace`
tokenizer just splits them again), so an index term and a query term can never disagree, and
user text never reaches a query parser. Rules, each for a query users type:
- NFKC, case-folded, accents stripped ("Müller" finds "Muller");
- apostrophes vanish inside words ("don't" -> "dont"); `C++` -> `cpp`, `C#` -> `csharp`;
- dotted numbers stay whole ("20.04", "3.5"); a hyphenated word is its parts ("multi-agent" ->
  "multi", "agent"; a query makes it a phrase);
- English stop words are dropped and the rest Snowball-stemmed (`stem=False` for author names).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterator

import Stemmer

# The classic short English list (Lucene's). Measured on the CACM dev queries, a longer list (~130
# words) cost nDCG@10: words like "only", "what", "more" carry meaning in technical queries.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    }
)

_APOSTROPHES = re.compile(r"(?<=\w)['\u2019\u02bc](?=\w)")
_PLUSES = re.compile(r"(?<=\w)\+\+")
_SHARP = re.compile(r"(?<=\w)#")
# A word: a dotted number, or a run of letters/digits (\w without the underscore's joining).
_WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")


def fold(text: str) -> str:
    """Case-folded, compatibility-normalised text without accents (combining marks)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def _prepare(text: str) -> str:
    text = fold(text)
    if "'" in text or "\u2019" in text or "\u02bc" in text:
        text = _APOSTROPHES.sub("", text)
    if "+" in text:
        text = _PLUSES.sub("pp", text)
    return _SHARP.sub("sharp", text) if "#" in text else text


@functools.cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


# Word -> stem. Vocabulary is Zipfian, so a plain dict answers almost every lookup (several times
# faster than the stemmer's own cache); capped so that adversarial input cannot grow it forever.
_STEMS: dict[str, str] = {}
_STEMS_MAX = 500_000


def _stem_all(ws: list[str]) -> list[str]:
    get = _STEMS.get
    out = [get(w) for w in ws]
    if None in out:
        stemmer = _stemmer()
        for i, s in enumerate(out):
            if s is None:
                s = out[i] = stemmer.stemWord(ws[i])
                if len(_STEMS) < _STEMS_MAX:
                    _STEMS[ws[i]] = s
    return out  # type: ignore[return-value]


def words(text: str) -> list[str]:
    """Normalised words, stop words included (for phrases and names)."""
    return _WORD.findall(_prepare(text))


def tokens(text: str, *, stem: bool = True) -> list[str]:
    """Index terms of `text`: normalised words without stop words, stemmed."""
    kept = [w for w in words(text) if w not in STOPWORDS]
    return _stem_all(kept) if stem else kept


def stemmed(ws: list[str]) -> list[str]:
    """The index terms of words that `tokens(..., stem=False)` gave (one pass makes both forms)."""
    return _stem_all(ws)


def analysed(text: str, *, stem: bool = True) -> str:
    """`tokens` joined by spaces: the form the index stores (tantivy's whitespace tokenizer)."""
    return " ".join(tokens(text, stem=stem))


SPAN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+(?:['\u2019][^\W_]+)*(?:\+\+|#)?")


@functools.lru_cache(maxsize=200_000)
def term_of(word: str) -> str:
    """The index term of one word as it appears in text ('' for a stop word or a non-word)."""
    found = _WORD.findall(_prepare(word))
    return "" if len(found) != 1 or found[0] in STOPWORDS else _stem_all(found)[0]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, term) of every word of `text` in its original offsets, term as the index has it
    ('' for a stop word), for highlighting. Offsets are exact because matching runs on the raw text."""
    for m in SPAN.finditer(text):
        yield m.start(), m.end(), term_of(m.group())


def edit_distance(a: str, b: str, limit: int = 2, *, prefix: bool = False) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from `a` (with `prefix`, from its
    start: its ending is free) to `b`; limit + 1 once it is over `limit` (checking a term list for
    near spellings stops early that way)."""
    if len(b) - len(a) > limit or (len(a) - len(b) > limit and not prefix):
        return limit + 1
    before: list[int] = []
    prev = list(range(len(b) + 1))
    best = prev[-1]
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if cost and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], before[j - 2] + 1)
        best = min(best, cur[-1])
        if min(cur) > limit:
            return min(best, limit + 1) if prefix else limit + 1
        before, prev = prev, cur
    return min(best if prefix else prev[-1], limit + 1)


# Endings that turn a stem back into a word ("diffus" -> "diffusion"), tried beside the typed word's own.
_ENDINGS = ("", "s", "e", "es", "ed", "er", "ers", "ing", "ion", "ions", "al", "y", "ies", "ity", "ation")


def spelled(term: str, like: str) -> str:
    """A word whose index term is `term`, spelled as close to `like` (a word as typed) as can be: a
    stem is not always a word ("transform" is, "diffus" is not), and "transfromer" should become
    "transformer", not "transform"."""
    typed = fold(like)
    stem = _stem_all([typed])[0]
    ends = ((typed[len(stem) :],) if typed.startswith(stem) else ()) + _ENDINGS
    words = [w for w in dict.fromkeys(term + e for e in ends) if term_of(w) == term]
    return min(words, key=lambda w: (edit_distance(w, typed, 9), abs(len(w) - len(typed))), default=term)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def edits(word: str) -> list[str]:
    """The words one edit from `word` (a letter dropped, swapped with the next, changed or added):
    sorted, for a stable choice between equals."""
    return sorted(weighted_edits(word))


# What a typo costs, in nats against a candidate's log frequency (KeywordIndex._respelling): two
# letters typed in the wrong order is the commonest slip, a neighbouring key or a doubled letter the
# next; any edit of the first letter, bar swapping it with the second, is rarer still.
SWAP_COST = 1.0
NEAR_COST = 1.5
EDIT_COST = 2.0
FIRST_COST = 1.0
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEYS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _touching(a: str, b: str) -> bool:
    """Whether `a` and `b` touch on a QWERTY keyboard (each row half a key right of the one above)."""
    (ra, ia), (rb, ib) = _KEYS[a], _KEYS[b]
    return (ra == rb and abs(ia - ib) == 1) or (
        abs(ra - rb) == 1 and ib - ia in ((0, -1) if rb > ra else (0, 1))
    )


_NEAR = {a: frozenset(b for b in _KEYS if _touching(a, b)) for a in _KEYS}


def weighted_edits(word: str) -> dict[str, float]:
    """The words one edit from `word`, each with the cheapest cost of a typo that makes `word` of it
    (SWAP_COST, NEAR_COST, EDIT_COST, plus FIRST_COST when the first letter is involved). Built by
    whole sets, dearest first so that a cheaper way overwrites: a loop per edit took twice as long."""
    n, near = len(word), [_NEAR.get(c, frozenset()) for c in word]

    def struck_twice(i: int) -> bool:  # word[i] was struck twice, or with the key beside it
        return (i > 0 and word[i - 1] == word[i]) or (
            i + 1 < n and (word[i + 1] == word[i] or word[i + 1] in near[i])
        )

    rest = word[1:]
    # The first letter changed, added before or dropped; any of these reached from a later letter
    # too (a doubled one) is overwritten by that cheaper way below.
    out = dict.fromkeys(
        [*(c + rest for c in _LETTERS), *(c + word for c in _LETTERS), rest], EDIT_COST + FIRST_COST
    )
    slips = [
        *(c + rest for c in (near[0] if n else ())),
        word[:1] + word,
        *([rest] if n and struck_twice(0) else []),
    ]
    out.update(dict.fromkeys(slips, NEAR_COST + FIRST_COST))
    out.update(
        dict.fromkeys((word[:i] + c + word[i + 1 :] for i in range(1, n) for c in _LETTERS), EDIT_COST)
    )
    out.update(dict.fromkeys((word[:i] + c + word[i:] for i in range(1, n + 1) for c in _LETTERS), EDIT_COST))
    out.update(dict.fromkeys((word[:i] + word[i + 1 :] for i in range(1, n)), EDIT_COST))
    out.update(dict.fromkeys((word[:i] + c + word[i + 1 :] for i in range(1, n) for c in near[i]), NEAR_COST))
    out.update(
        dict.fromkeys(
            (word[:i] + c + word[i:] for i in range(1, n + 1) for c in {*word[i - 1 : i + 1]}), NEAR_COST
        )
    )
    out.update(dict.fromkeys((word[:i] + word[i + 1 :] for i in range(1, n) if struck_twice(i)), NEAR_COST))
    out.update(
        dict.fromkeys((word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(n - 1)), SWAP_COST)
    )
    out.pop(word, None)
    return out


def typo_cost(typed: str, word: str, limit: float = math.inf) -> float:
    """The cheapest run of typos that makes `typed` of `word`, each priced as weighted_edits prices
    it, so that a word two or three edits away is weighed on the same scale as one an edit away (one
    edit away, this is weighted_edits' cost, or less when two cheap slips make the same word:
    tests/search/test_text.py). The neighbouring letters that make a slip cheap are read in
    `typed`. Over `limit`, some cost over it (a candidate too dear is dropped early)."""
    n, m = len(typed), len(word)
    if NEAR_COST * abs(n - m) > limit:
        return math.inf
    near = [_NEAR.get(c, frozenset()) for c in typed]
    first = [FIRST_COST] + [0.0] * n
    # typed[i] struck once too often (its neighbour doubled, or a key beside it hit with it).
    extra = [
        first[i]
        + (
            NEAR_COST
            if (i > 0 and typed[i - 1] == typed[i])
            or (i + 1 < n and (typed[i + 1] == typed[i] or typed[i + 1] in near[i]))
            else EDIT_COST
        )
        for i in range(n)
    ]
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):  # word's first letters left out before typed's first
        prev[j] = prev[j - 1] + FIRST_COST + (NEAR_COST if n and word[j - 1] == typed[0] else EDIT_COST)
    before: list[float] = []
    for i in range(1, n + 1):
        t, ex, around, ni = typed[i - 1], extra[i - 1], typed[i - 1 : i + 1], near[i - 1]
        cur = [prev[0] + ex] + [0.0] * m
        for j in range(1, m + 1):
            c = word[j - 1]
            if t == c:
                best = prev[j - 1]
            else:
                best = prev[j - 1] + first[i - 1] + (NEAR_COST if c in ni else EDIT_COST)
                if i > 1 and j > 1 and t == word[j - 2] and typed[i - 2] == c:
                    best = min(best, before[j - 2] + SWAP_COST)
            # word[j - 1] left out after typed[i - 1] (cheap when it doubles a letter beside it).
            best = min(best, prev[j] + ex, cur[j - 1] + (NEAR_COST if c in around else EDIT_COST))
            cur[j] = best
        if min(cur) > limit < min(prev):  # a swap reaches back two rows
            return math.inf
        before, prev = prev, cur
    return prev[m]


@functools.cache
def _uncached_stemmer() -> Stemmer.Stemmer:
    # The stemmer's own cache (10,000 words) thrashed on the ~600 fresh edits of each misspelt word:
    # stemming them took 4x as long with it (bench/README.md, b2).
    return Stemmer.Stemmer("english", 0)


def stems(ws: list[str]) -> list[str]:
    """Snowball stems of `ws`, kept in no cache (most are not words at all)."""
    return list(_uncached_stemmer().stemWords(ws))
