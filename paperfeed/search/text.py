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


# British spellings, written as American ones before stemming, for documents and queries alike: a
# paper on "optimisation" is one on "optimization" (Snowball stems them "optimis" and "optim"). Each
# rule names the words it changes, because the letters alone do not tell a variant: "-ise" is a
# suffix in "normalise" but part of the word in "supervise" (whose "supervis" is "supervision"'s
# term), "precise", "promise" or "pairwise", and "-our" is one in "colour", not in "hour" or "four".
# What the rules join and what they part in the 74,728 records is listed in bench/README.md (b2).
# -ise, -ised, -ising, -isation ... after at least 3 letters ("raise", "noise", "arise" have 2 or
# fewer), except in words where the s is no suffix's: the endings below, the word before "is".
_ISE = re.compile(r"^([a-z]{3,})is(e|es|ed|ing|er|ers|ation|ations|ational|able)$")
_ISE_KEPT = (
    "wis",
    "nois",
    "vis",
    "pris",
    "promis",
    "premis",
    "surmis",
    "chemis",
    "demis",
    "precis",
    "concis",
    "exercis",
    "excis",
    "incis",
    "rais",
    "pois",
    "guis",
    "cruis",
    "bruis",
    "advertis",
    "merchandis",
    "franchis",
    "chastis",
    "despis",
    "treatis",
    "paradis",
    "tortois",
    "porpois",
    "turquois",
    "practis",
    "expertis",
    "mortis",
    "valis",
    "trellis",
    "metropolis",
    "upris",
    "overris",
    "sunris",
)
# -yse as -yze ("analyse", "catalysed", "paralysing"); not "-yses", the plural of "-ysis" too.
_YSE = re.compile(r"^([a-z]{2,})ys(e|ed|ing|er|ers|able)$")
# -our as -or, -re as -er, -ogue as -og and -ence as -ense in the words that have them (and any word
# they start or end: "discoloured", "unfavourable", "kilometres", "dialogues").
_OUR = re.compile(
    r"(colo|behavio|neighbo|favo|hono|labo|flavo|humo|rumo|vapo|harbo|armo|vigo|rigo|tumo|odo|savo"
    r"|endeavo|parlo|valo|clamo|splendo|cando|ardo|fervo|demeano|savio)ur"
)
_RE = re.compile(
    r"^([a-z]*(?:cent|met)|lit|theat|spect|lust|meag|scept|tit|mit|nit|goit|fib|calib|somb|sab)r(e|es|ed|ing)$"
)
_OGUE = re.compile(r"^(\w*(?:dialog|catalog|analog|monolog|homolog|prolog|epilog|travelog))u(e|es|ed|ing)$")
_ENCE = re.compile(r"^(defen|offen|licen|preten)c(e|es|ed|ing)$")
_WORDS = {
    "programme": "program",
    "programmes": "programs",
    "judgement": "judgment",
    "judgements": "judgments",
    "acknowledgement": "acknowledgment",
    "acknowledgements": "acknowledgments",
    "artefact": "artifact",
    "artefacts": "artifacts",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "aluminium": "aluminum",
    "sulphur": "sulfur",
    "sulphate": "sulfate",
    "sulphates": "sulfates",
    "sulphide": "sulfide",
    "sulphides": "sulfides",
    "aeroplane": "airplane",
    "aeroplanes": "airplanes",
    "aeon": "eon",
    "aeons": "eons",
    "caesium": "cesium",
    "oestrus": "estrus",
    "faeces": "feces",
    "faecal": "fecal",
    "learnt": "learned",
    "unlearnt": "unlearned",
    "practise": "practice",
    "practises": "practices",
    "practised": "practiced",
    "practising": "practicing",
    "speciality": "specialty",
    "specialities": "specialties",
    "enquiry": "inquiry",
    "enquiries": "inquiries",
    "cosy": "cozy",
    "tyre": "tire",
    "tyres": "tires",
    "skilful": "skillful",
    "skilfully": "skillfully",
    "wilful": "willful",
    "wilfully": "willfully",
    "unrivalled": "unrivaled",
    "jewellery": "jewelry",
    "woollen": "woolen",
    "gruelling": "grueling",
}
# Parts of words: -ae- and -oe- of Greek and Latin words ("haemoglobin", "oesophagus"), grey, -ll-
# before a suffix where the stemmer does not undo it ("fuelled", "counsellor"), mould and sceptic, at
# the start of a word ("susceptible" has no "sceptic", nor "gastroesophageal" "oesophag"; the name
# "Oestreicher" no "oestrogen"); the last
# few anywhere in one ("orthopaedic", "encyclopaedia", "diarrhoea", "apnoea", "hyperglycaemia").
# Named, not "ae"/"oe" as such: "aerial", "aerospace", "phoenix", "goes", "poet", "coefficient",
# "israel", "archaea" keep theirs; "archaeology", one American spelling too, joins "archeology".
_PARTS = {
    "haem": "hem",
    "anaem": "anem",
    "anaes": "anes",
    "aetiol": "etiol",
    "gynaec": "gynec",
    "leukaem": "leukem",
    "ischaem": "ischem",
    "septicaem": "septicem",
    "palaeo": "paleo",
    "mediaev": "mediev",
    "archaeol": "archeol",
    "synaesth": "synesth",
    "oesophag": "esophag",
    "oestrog": "estrog",
    "oestrad": "estrad",
    "oedem": "edem",
    "foet": "fet",
    "coeliac": "celiac",
    "homoeo": "homeo",
    "manoeuvr": "maneuver",
    "grey": "gray",
    "fuell": "fuel",
    "counsellor": "counselor",
    "panellist": "panelist",
    "mould": "mold",
    "sceptic": "skeptic",
}
_INSIDE = {"paed": "ped", "rrhoe": "rrhe", "pnoe": "pne", "glycaem": "glycem"}
_PARTS.update(_INSIDE)
_AT_START = "|".join(sorted(_PARTS.keys() - _INSIDE.keys(), key=len, reverse=True))
_PART = re.compile(f"^(?:{_AT_START})|{'|'.join(_INSIDE)}")


# The endings one of the rules needs, tested first (one C call each): most words have none of them,
# and a misspelt word's ~600 edits are all looked at (KeywordIndex._respelling, bench/README.md b2).
_ISE_ENDS = tuple(
    f"{y}s{e}"
    for y in "iy"
    for e in ("e", "es", "ed", "ing", "er", "ers", "ation", "ations", "ational", "able")
)
_RE_ENDS = tuple(f"{c}r{e}" for c in "tb" for e in ("e", "es", "ed", "ing"))
_OGUE_ENDS = ("ogue", "ogues", "ogued", "oguing")
_ENCE_ENDS = ("ence", "ences", "enced", "encing")
_ENDS = _ISE_ENDS + _RE_ENDS + _OGUE_ENDS + _ENCE_ENDS


def american(word: str) -> str:
    """`word` (folded) in American spelling when it is a British spelling of a word the rules above
    name, else itself."""
    if word in _WORDS:
        return _WORDS[word]
    if _PART.search(word):
        word = _PART.sub(lambda m: _PARTS[m[0]], word)
    if "our" in word:  # first: a word can have two ("colourised")
        word = _OUR.sub(r"\1r", word)
    if not word.endswith(_ENDS):
        return word
    if word.endswith(_ISE_ENDS):
        m = _ISE.match(word)
        if m and not (m[1] + "is").endswith(_ISE_KEPT):
            return f"{m[1]}iz{m[2]}"
        m = _YSE.match(word)
        return f"{m[1]}yz{m[2]}" if m else word
    if word.endswith(_RE_ENDS):
        m = _RE.match(word)
        return m[1] + {"e": "er", "es": "ers", "ed": "ered", "ing": "ering"}[m[2]] if m else word
    if word.endswith(_OGUE_ENDS):
        m = _OGUE.match(word)
        return m[1] + {"e": "", "es": "s"}.get(m[2], m[2]) if m else word  # "catalogued" -> "cataloged"
    if word.endswith(_ENCE_ENDS):
        m = _ENCE.match(word)
        return f"{m[1]}s{m[2]}" if m else word
    return word


def same_word(a: str, b: str) -> bool:
    """Whether `a` and `b` (folded) differ only as British and American spellings do (what "did you
    mean" never offers): as `american` makes them, or by -is-/-iz- or -our/-or in any word ("colourise"
    and "colorize", which `american` leaves apart: it must not join two words, and this only keeps an
    offer back). Not -re/-er or -ence/-ense beyond `american`'s words: those are typos too ("Clustre",
    "Sentense")."""
    return a != b and loosely(a) == loosely(b)


_LOOSE_IS = re.compile(r"(?<=[a-z]{3})([iy])s(?=e|ing|ation|er|ab)")
_LOOSE_OUR = re.compile(r"(?<=[a-z]{3})our(?=$|s$|ed|ing|al|abl|ite|ful|less|hood|ism|ist)")


def loosely(word: str) -> str:
    """`word` (folded) as `same_word` compares it: one form for its British and American spellings."""
    return american(_LOOSE_OUR.sub("or", _LOOSE_IS.sub(r"\1z", word)))


def _stem_all(ws: list[str]) -> list[str]:
    get = _STEMS.get
    out = [get(w) for w in ws]
    if None in out:
        stemmer = _stemmer()
        for i, s in enumerate(out):
            if s is None:
                s = out[i] = stemmer.stemWord(american(ws[i]))
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


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def edits(word: str) -> list[str]:
    """The words one edit from `word` (a letter dropped, swapped with the next, changed or added):
    sorted, for a stable choice between equals. Unpriced: typo_cost prices a respelling, once its
    spelling in the papers is known."""
    cut = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in cut if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in cut if len(b) > 1)
    out.update(a + c + b[1:] for a, b in cut if b for c in LETTERS)
    out.update(a + c + b for a, b in cut for c in LETTERS)
    out.discard(word)
    return sorted(out)


# What a typo costs, in nats against a candidate's log frequency (KeywordIndex._respelling): two
# letters typed in the wrong order is the commonest slip, a neighbouring key, a doubled letter or a
# letter that sounds like the one meant the next; any edit of the first letter, bar swapping it with
# the second, is rarer still. typo_cost is the one place these prices are applied.
SWAP_COST = 1.0
NEAR_COST = 1.5
EDIT_COST = 2.0
FIRST_COST = 1.0
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEYS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
# Consonants that spell the same or a like sound, each for the other ("analyse", "karbon"): voiced
# and voiceless pairs, c as k or s, i as y. Not the vowels of unstressed syllables: in words of 4
# letters they made "last", "list", "lost" as near to "lest" as "less", and the phrase with the next
# word ("Test-Time") was not looked up for the word meant (bench/README.md, b2).
_SOUNDS = ("bp", "bv", "fv", "dt", "gk", "ck", "cs", "kq", "sz", "gj", "iy")


def _touching(a: str, b: str) -> bool:
    """Whether `a` and `b` touch on a QWERTY keyboard (each row half a key right of the one above)."""
    (ra, ia), (rb, ib) = _KEYS[a], _KEYS[b]
    return (ra == rb and abs(ia - ib) == 1) or (
        abs(ra - rb) == 1 and ib - ia in ((0, -1) if rb > ra else (0, 1))
    )


_NEAR = {a: frozenset(b for b in _KEYS if _touching(a, b)) for a in _KEYS}
# A letter typed for another at the price of a slip: a key beside it, or a like sound.
_ALIKE = {a: _NEAR[a] | {p.replace(a, "", 1) for p in _SOUNDS if a in p} for a in _KEYS}


def neighbour_keys(letter: str) -> frozenset[str]:
    """The letters whose keys touch `letter`'s on a QWERTY keyboard (none for a non-letter)."""
    return _NEAR.get(letter, frozenset())


def typo_cost(typed: str, word: str, limit: float = math.inf) -> float:
    """The cheapest run of typos that makes `typed` of `word`, so that a word two or three edits away
    is weighed on the same scale as one an edit away: two neighbouring letters swapped SWAP_COST; a
    letter changed NEAR_COST when the key struck touches the one meant or their sounds are alike,
    else EDIT_COST; a letter added NEAR_COST when it doubles one beside it or its key touches
    theirs (two keys struck at once), a letter left out NEAR_COST when it doubles one beside it,
    else EDIT_COST; each plus FIRST_COST when it is the first letter (but for a swap). The
    neighbouring letters that make a slip cheap are read in `typed`. Over `limit`, some cost over
    it (a candidate too dear is dropped early)."""
    n, m = len(typed), len(word)
    if NEAR_COST * abs(n - m) > limit:
        return math.inf
    near = [_ALIKE.get(c, frozenset()) for c in typed]
    keys = [_NEAR.get(c, frozenset()) for c in typed]
    first = [FIRST_COST] + [0.0] * n
    # typed[i] struck once too often (its neighbour doubled, or a key beside it hit with it).
    extra = [
        first[i]
        + (
            NEAR_COST
            if (i > 0 and typed[i - 1] in (typed[i], *keys[i]))
            or (i + 1 < n and typed[i + 1] in (typed[i], *keys[i]))
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
    return list(_uncached_stemmer().stemWords([american(w) for w in ws]))
