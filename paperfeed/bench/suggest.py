"""Suggest: what "did you mean" costs a keyword search, and how often it is given and right.

A home holding the records imported and keyword-indexed (by the real commands, as the search
bench builds it; `--home` keeps it, and a later run with the same home and file only measures).
From real titles (`--seed`): `--queries` strings of 3 consecutive title words, as the search bench
draws them, and four sets misspelt from those: two neighbouring letters of the longest word
swapped (both letters, not its first); its first letter mistyped (the first two letters swapped for
even-numbered queries, the first changed to another letter for odd ones); the swapped word alone;
two typos in it, when it has 7 letters or more (its first letter dropped for even-numbered queries,
changed for odd ones, and two other neighbouring letters swapped); a letter struck as a neighbouring
key on a QWERTY keyboard (the first for even-numbered queries, another for odd ones); a spelling of a
sound replaced by one that sounds alike ("Segmentasion", "Temperal"; not in its first letter). From
twenty times as many other title strings, the first `--queries` with a word misspelt keeping its
index term (a doubled consonant made single, -ance as -ence, ie as ei: "Controled", "Assistence"). And
from as many other titles, strings of up to 3 consecutive words one of which is hyphenated, the
longest part of that word mistyped as the first-letter set's are ("Ghain-of-Thought"): the
neighbouring word is what tells the word meant (a set left out when no title has such a word).
One child answers every query in keyword mode with the suggestion and without it, in an order
that alternates from query to query so that both see the same load, after a warm-up pass of each
(the first look at a letter's terms reads them from the index). Per set: p50/p95 of each way's
in-process `took_ms`, their ratios, the mean added ms, the queries that found nothing, the
suggestions given and right (the query as it was before the typo, case aside), and among them
those that respell a word in capitals (`capitals`: "EGTM" -> "GETS") and those that only change
British spellings to American ones or back (`spelling_only`: "Generalised" -> "Generalized").
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import string
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from paperfeed.bench.common import SNAPSHOT, child_json, kept_env, kept_meta, kept_update, spread_ms
from paperfeed.bench.search import _build, title_queries
from paperfeed.core.commands import bounded_int
from paperfeed.search import text

WAYS = ("without", "with")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queries",
        type=bounded_int(1),  # a percentile of no times is no figure
        default=201,
        help="title queries, and as many per misspelt set",
    )
    parser.add_argument("--seed", type=int, default=7, help="picks the titles and the typos")
    parser.add_argument("--file", type=Path, default=SNAPSHOT, help="Kaggle-format records to index")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--home", type=Path, help="build into this home and keep it (a later run only measures)"
    )


def _longest(words: list[str]) -> int:
    return max(range(len(words)), key=lambda i: len(words[i])) if words else 0


def longest_word(q: str) -> str:
    words = q.split()
    return words[_longest(words)] if words else q


def swap_letters(word: str, rng: random.Random) -> str:
    """Two different neighbouring letters swapped, neither of them the first character."""
    spots = [
        j
        for j in range(1, len(word) - 1)
        if word[j].isalpha() and word[j + 1].isalpha() and word[j] != word[j + 1]
    ]
    if len(word) < 4 or not spots:
        return word
    j = rng.choice(spots)
    return word[:j] + word[j + 1] + word[j] + word[j + 2 :]


def mistype_first(word: str, n: int, rng: random.Random) -> str:
    """The first letter wrong: swapped with the second for even `n`, another letter for odd `n`."""
    if len(word) < 4 or not word[:2].isalpha() or word[0].lower() == word[1].lower():
        return word
    if n % 2 == 0:
        return word[1] + word[0] + word[2:]
    c = rng.choice([c for c in string.ascii_lowercase if c != word[0].lower()])
    return (c.upper() if word[0].isupper() else c) + word[1:]


def two_typos(word: str, n: int, rng: random.Random) -> str:
    """The first letter dropped (even `n`) or changed (odd `n`), and two other neighbouring letters
    swapped: a word of 7 letters or more (shorter ones are tried one edit away only)."""
    if len(word) < 7 or not word.isalpha():
        return word
    rest = swap_letters(word[1:], rng)
    if n % 2 == 0:
        return rest[:1].upper() + rest[1:] if word[0].isupper() else rest
    c = rng.choice([c for c in string.ascii_lowercase if c != word[0].lower()])
    return (c.upper() if word[0].isupper() else c) + rest


def neighbour_key(word: str, n: int, rng: random.Random) -> str:
    """A letter struck as a key beside it on a QWERTY keyboard: the first for even `n` ("Vatch" for
    "Batch"), another one for odd `n`."""
    spots = [j for j in range(len(word)) if text.neighbour_keys(word[j].lower())]
    if len(word) < 4 or not spots:
        return word
    j = spots[0] if n % 2 == 0 else rng.choice(spots[1:] or spots)
    c = rng.choice(sorted(text.neighbour_keys(word[j].lower())))
    return word[:j] + (c.upper() if word[j].isupper() else c) + word[j + 1 :]


# Spellings that sound alike (English's own confusions, not the scorer's table): one of them, at a
# random place it fits, replaced by another.
SOUNDS = (
    ("ph", "f"), ("f", "ph"), ("c", "k"), ("k", "c"), ("ck", "k"), ("s", "z"), ("z", "s"), ("y", "i"),
    ("i", "y"), ("tion", "sion"), ("sion", "tion"), ("ance", "ence"), ("ence", "ance"), ("ant", "ent"),
    ("ent", "ant"), ("able", "ible"), ("ible", "able"), ("qu", "kw"), ("x", "ks"), ("er", "or"),
    ("or", "er"), ("ll", "l"), ("ss", "s"), ("tt", "t"), ("mm", "m"), ("pp", "p"), ("rr", "r"),
    ("nn", "n"), ("ff", "f"), ("ee", "ea"), ("ea", "ee"), ("ou", "ow"), ("ai", "ay"), ("ei", "ie"),
    ("ie", "ei"),
)  # fmt: skip


def sound_alike(word: str, rng: random.Random) -> str:
    """One spelling of a sound replaced by another that sounds alike ("Segmentasion", "Difusion"),
    not in the first letter (a word's start is seldom misheard)."""
    lower = word.lower()
    spots = [(j, a, b) for a, b in SOUNDS for j in range(1, len(word)) if lower.startswith(a, j)]
    if len(word) < 5 or not word.isalpha() or not spots:
        return word
    j, a, b = rng.choice(spots)
    return word[:j] + (b.upper() if word[j].isupper() else b) + word[j + len(a) :]


# Misspellings that keep a word's index term ("Controled", "Assistence", "Dependant"): what only the
# words as written tell from the word meant. Each (spelling, its misspelling).
RIGHT_STEM = (
    ("ll", "l"), ("ss", "s"), ("tt", "t"), ("mm", "m"), ("pp", "p"), ("rr", "r"), ("nn", "n"),
    ("ff", "f"), ("cc", "c"), ("dd", "d"), ("gg", "g"), ("ance", "ence"), ("ence", "ance"),
    ("ant", "ent"), ("ent", "ant"), ("ie", "ei"), ("ei", "ie"),
)  # fmt: skip


def right_stem(word: str, rng: random.Random) -> str:
    """A doubled consonant made single, -ance as -ence (or back), ie as ei (or back), at a place
    drawn with `rng` among those where the misspelling keeps the word's index term (the word as it
    was where there is none)."""
    lower, term = word.lower(), text.term_of(word)
    spots = [(j, a, b) for a, b in RIGHT_STEM for j in range(1, len(word)) if lower.startswith(a, j)]
    spelt = [word[:j] + (b.upper() if word[j].isupper() else b) + word[j + len(a) :] for j, a, b in spots]
    kept = [w for w in spelt if text.term_of(w) == term and w.lower() != lower]
    return rng.choice(kept) if word.isalpha() and term and kept else word


def right_stem_pairs(queries: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """(query, what was meant) for the first `n` of `queries` with a word that right_stem can
    misspell (the longest such word misspelt)."""
    rng, out = random.Random(seed), []
    for q in queries:
        words = q.split()
        for i in sorted(range(len(words)), key=lambda i: -len(words[i])):
            wrong = right_stem(words[i], rng)
            if wrong != words[i]:
                out.append((" ".join([*words[:i], wrong, *words[i + 1 :]]), q))
                break
        if len(out) == n:
            break
    return out


def hyphenated_queries(path: Path, n: int, seed: int) -> list[str]:
    """`n` strings of up to 3 consecutive title words, one of them hyphenated ("Chain-of-Thought"),
    from as many titles drawn with `seed`."""
    rng = random.Random(seed)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        titles = [json.loads(line)["title"] for line in f]
    joined = re.compile(r"^[A-Za-z]+(?:-[A-Za-z]+)+$")
    out = []
    for t in rng.sample(titles, len(titles)):
        w = t.split()
        at = [i for i, x in enumerate(w) if joined.match(x) and max(map(len, x.split("-"))) >= 4]
        if at:
            i = rng.choice(at)
            start = max(0, min(i - rng.randrange(2), len(w) - 3))
            out.append(" ".join(w[start : start + 3]))
            if len(out) == n:
                break
    return out


def in_hyphenated(q: str, change: Callable[[str], str]) -> str:
    """`change` made to the longest part of the query's first hyphenated word."""
    words = q.split()
    i = next((i for i, w in enumerate(words) if "-" in w), None)
    if i is None:
        return q
    parts = words[i].split("-")
    j = _longest(parts)
    parts[j] = change(parts[j])
    words[i] = "-".join(parts)
    return " ".join(words)


def query_sets(
    queries: list[str],
    seed: int,
    hyphenated: list[str] | None = None,
    right_stemmed: list[tuple[str, str]] | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Each set as (query, what was meant) pairs; the misspelt ones change each query's longest word
    (in `hyphenated`, the longest part of its hyphenated word); `right_stemmed` is a set of its own
    (right_stem_pairs)."""

    def on_longest(q: str, change: Callable[[str], str]) -> str:
        words = q.split()
        if not words:
            return q
        i = _longest(words)
        words[i] = change(words[i])
        return " ".join(words)

    # One generator per set, so that a set does not change when another one's rules do.
    swap_rng, first_rng, two_rng, key_rng, sound_rng, joined_rng = (random.Random(seed) for _ in range(6))
    swapped = [on_longest(q, lambda w: swap_letters(w, swap_rng)) for q in queries]
    first = [on_longest(q, partial(mistype_first, n=n, rng=first_rng)) for n, q in enumerate(queries)]
    two = [on_longest(q, partial(two_typos, n=n, rng=two_rng)) for n, q in enumerate(queries)]
    keys = [on_longest(q, partial(neighbour_key, n=n, rng=key_rng)) for n, q in enumerate(queries)]
    sounds = [on_longest(q, lambda w: sound_alike(w, sound_rng)) for q in queries]
    joined = [
        in_hyphenated(q, partial(mistype_first, n=n, rng=joined_rng)) for n, q in enumerate(hyphenated or [])
    ]
    # The word alone: the swapped one (a typo's index is the original word's, as lengths stay).
    alone = [longest_word(q) for q in swapped]
    words = [longest_word(q) for q in queries]
    return {
        "title": list(zip(queries, queries, strict=True)),
        "swapped": list(zip(swapped, queries, strict=True)),
        "first_letter": list(zip(first, queries, strict=True)),
        "alone": list(zip(alone, words, strict=True)),
        "two_typos": list(zip(two, queries, strict=True)),
        "neighbour_key": list(zip(keys, queries, strict=True)),
        "sound_alike": list(zip(sounds, queries, strict=True)),
        "hyphenated": list(zip(joined, hyphenated or [], strict=True)),
        "right_stem": right_stemmed or [],
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    path: Path = options["file"]
    queries = title_queries(path, options["queries"], options["seed"])
    hyphenated = hyphenated_queries(path, options["queries"], options["seed"])
    # Few titles' words can be misspelt keeping their term: drawn from twenty times as many titles.
    many = title_queries(path, 20 * options["queries"], options["seed"] + 1)
    right = right_stem_pairs(many, options["queries"], options["seed"])
    sets = {k: v for k, v in query_sets(queries, options["seed"], hyphenated, right).items() if v}
    with kept_env(options["database"], options["home"]) as env:
        built = kept_meta(env).get("suggest_build")
        if built and built.get("file") == str(path.resolve()):
            built = {**built, "reused_home": env["PAPERFEED_HOME"]}
        else:
            built = {"file": str(path.resolve()), **_build(env, path)}
            kept_update(env, suggest_build=built)
        sets_file = Path(env["PAPERFEED_HOME"]) / "suggest-queries.json"
        sets_file.write_text(json.dumps(sets), encoding="utf-8")
        measured = child_json(["-m", "paperfeed.bench.suggest", str(sets_file)], env, "suggest bench")
    return {
        "benchmark": "suggest",
        "database": options["database"],
        "papers": built.get("papers"),
        "build": built,
        "queries": len(queries),
        "seed": options["seed"],
        **measured,
    }


def _summary(took: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for way in WAYS:
        out[way] = spread_ms(took[way], 3)
    base, with_ = out["without"], out["with"]
    for p in ("p50", "p95"):
        out[f"ratio_{p}"] = round(with_[f"{p}_ms"] / base[f"{p}_ms"], 3) if base[f"{p}_ms"] else None
    out["added_mean_ms"] = round(with_["mean_ms"] - base["mean_ms"], 3)
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def _changed(query: str, suggestion: str) -> list[tuple[str, str]]:
    """The words (as typed, as suggested) that the suggestion changes."""
    return [(a, b) for a, b in zip(query.split(), suggestion.split(), strict=False) if a != b]


def capitals(query: str, suggestion: str) -> bool:
    """Whether `suggestion` respells a word of `query` written in capitals (an acronym, mostly)."""
    return any(a.isupper() for a, _ in _changed(query, suggestion))


def spelling_only(query: str, suggestion: str) -> bool:
    """Whether `suggestion` only changes British spellings of `query` to American ones, or back."""
    pairs = [
        (x, y)
        for a, b in _changed(query, suggestion)
        for x, y in zip(text.words(a), text.words(b), strict=False)
        if x != y
    ]
    return bool(pairs) and all(text.same_word(x, y) for x, y in pairs)


def _measure(sets: dict[str, list[list[str]]]) -> dict[str, Any]:
    """In the child (Django set up on the bench's home): every set answered both ways."""
    import django

    django.setup()
    from paperfeed.search import services

    # "Without" is the search as it is with only the suggestion left out. search() has no switch
    # for that (nothing but this bench would use one), so the bench swaps the function it calls.
    real = services._suggestion
    ways: dict[str, Any] = {"without": lambda *args: None, "with": real}
    load_at_start = os.getloadavg()[0]
    out: dict[str, Any] = {}
    try:
        for name, pairs in sets.items():
            for way in WAYS:  # warm-up
                services._suggestion = ways[way]
                for q, _ in pairs:
                    services.search(q, mode="keyword", limit=10)
            took: dict[str, list[float]] = {way: [] for way in WAYS}
            given = right = found_none = caps = variants = 0
            wrong: list[dict[str, str]] = []
            for n, (q, meant) in enumerate(pairs):
                for way in WAYS if n % 2 == 0 else WAYS[::-1]:
                    services._suggestion = ways[way]
                    r = services.search(q, mode="keyword", limit=10)
                    took[way].append(r.took_ms)
                    if way == "without":
                        found_none += r.total == 0
                    elif r.suggestion:
                        given += 1
                        caps += capitals(q, r.suggestion)
                        variants += spelling_only(q, r.suggestion)
                        if _same(r.suggestion, meant):
                            right += 1
                        elif len(wrong) < 5:
                            wrong.append({"query": q, "suggestion": r.suggestion, "meant": meant})
            out[name] = {
                "queries": len(pairs),
                "misspelt": sum(1 for q, meant in pairs if not _same(q, meant)),
                "found_none": found_none,
                **_summary(took),
                "suggestions": given,
                "right": right,
                "capitals": caps,
                "spelling_only": variants,
                "wrong_examples": wrong,
            }
    finally:
        services._suggestion = real
    return {
        "load_average": {"start": round(load_at_start, 2), "end": round(os.getloadavg()[0], 2)},
        "sets": out,
    }


if __name__ == "__main__":
    print(json.dumps(_measure(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))))
