"""The keyword leg: BM25 over title (boosted), abstract and author names, in an embedded tantivy index.

Why tantivy and not the database's own full-text search (figures in bench/README.md, measured by
`paperfeed bench search` in the same run): SQLite FTS5 `bm25()` and PostgreSQL `ts_rank` scan and
rank every match in SQL; at 1M papers their p95 is seconds for common words, and `ts_rank` is not
BM25 at all. tantivy answers the same queries in milliseconds, on either database, from files under
PAPERFEED_HOME that any node can rebuild from the database (the system of record).

Documents and queries are analysed by `paperfeed.search.text`; queries are built as query objects
(term, phrase, boolean), never parsed from user text.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from paperfeed.search import text
from paperfeed.search.query import Clause, ParsedQuery

# Relevance knobs (tuned on the CACM dev queries by `paperfeed bench search`; see bench/README.md).
# A word scores by BM25 in title + abstract together ("body"), plus TITLE_BOOST x its BM25 in the
# title alone (a cheap stand-in for BM25F), plus AUTHORS_BOOST x its BM25 in the author names.
# Tuned on the CACM dev queries (bench/README.md): a larger title boost lost nDCG there.
BODY_BOOST = 1.0
TITLE_BOOST = 0.1
AUTHORS_BOOST = 0.25
# Adjacent query words occurring together as a phrase earn this much more (proximity).
PHRASE_BOOST = 0.25
# A short query that is someone's name, in order ("Zhanhui Zhou"): their papers first. Without it
# a paper that cites "Zhou et al." twice outscored the person's own papers.
AUTHOR_NAME_BOOST = 2.0

# "Did you mean" (services.search): a query word whose term is in at most RESPELL_RARE papers is
# respelt as a near word (KeywordIndex.respelling) whose term is in RESPELL_RATIO times as many
# papers, and at least RESPELL_MIN. Shorter terms than RESPELL_SHORTEST are left alone (too many
# neighbours), nor longer ones than RESPELL_LONGEST (no word; each letter costs ~50 edits to try),
# and only distance 1 is tried under RESPELL_TWO letters.
RESPELL_RARE = 2
RESPELL_MIN = 5
RESPELL_RATIO = 20
RESPELL_SHORTEST = 4
RESPELL_TWO = 6
RESPELL_LONGEST = 30
# A word whose term is frequent but which few papers write as typed ("Controled", its term
# "control") is respelt too, from RESPELL_WORD_SHORTEST letters (KeywordIndex._respelt_word).
RESPELL_WORD_SHORTEST = 6
# Between near words that are all frequent enough, the likeliest: PRIOR_WEIGHT x the log of its
# papers, less the typo's cost (text.typo_cost), plus the log of 1 + the papers that have it
# next to each neighbouring word of the query (the two as a phrase, in the query's order). The full
# log frequency let "additional" beat "editing" for "Photo Dditing" and "turning" beat "pruning" for
# "Token Purning"; co-occurrence anywhere in a paper told "multi" from "out" for "Oulti-Agent" less
# well than the phrase (bench/README.md, b2). The phrases are counted for the CONTEXT_CANDIDATES
# best, when the runner-up is within CONTEXT_MARGIN of the best (~0.05 ms a phrase once read).
PRIOR_WEIGHT = 0.5
# The dearest typos a respelling may assume: two, of any letter, one of them the first. A stem near
# the start of the word can still be far from all of it: "Snapmoji" is no typo of "synaptic".
TYPOS = 2
TYPOS_COST = TYPOS * text.EDIT_COST + text.FIRST_COST
# The dearest typo a word in capitals is respelt for (KeywordIndex._respelt_capitals): one slip. Of
# the 5,702 words of 4 letters or more in capitals in the 74,728 titles, respelt alone, 2,350 were
# respelt before the rule ("AALC" -> "ALLS", "ADORE" -> "ADOBE"), 8 after it (bench/README.md, b2).
CAPITALS_COST = text.NEAR_COST
# Stems whose spellings are kept between reloads (KeywordIndex._spellings), so that no run of queries
# grows the cache without end.
SPELLINGS_CACHED = 10_000
CONTEXT_CANDIDATES = 3
CONTEXT_MARGIN = 3.0
# The share of a word's papers whose source broke it so that its first letter stands apart (a
# hyphenation, a drop capital), leaving a "word" that is its end: in the 74,728 records,
# "istillation" is in 10 papers for "distillation"'s 2,420, "ynamic" 8 for 6,885, "ptimization" 28 for
# 7,960 (0.04-0.4%); the top of that range, so that such pieces are no word a query meant.
FRAGMENT_RATE = 0.005

# The version of the index's layout: its fields and what upsert() writes in them. Bump it with any
# change to either: an index of another version is stale, is not searched, and is built again beside
# itself by the next indexer run, which a process that finds it so enqueues (indexing.py, tasks.py).
# 1: until 2026-12; 2: + "words" (unstemmed, for "did you mean"); 3: British spellings indexed as
# American ones (text.american: "optimisation" is "optimization"'s term); 4: and -ae-/-oe- words,
# grey, -ll- the stemmer leaves, learnt, practise ("paediatric" is "pediatric"'s term).
SCHEMA_VERSION = 4

EPOCH = dt.date(1970, 1, 1)
_WRITER_HEAP = 256 * 1024 * 1024


# What joins the parts of a word that are respelt one by one: hyphens, slashes, trailing punctuation.
_JOINS = re.compile(r"([^\w'\u2019]+)")


def _near(typed: str, term: str, lists: list[dict[str, int]], limit: int) -> Iterator[tuple[str, int]]:
    """(term, papers) of those of `lists` (each most frequent first) within `limit` edits of the
    start of the word `typed` (whose term is `term`), most frequent first: a stem ends where its
    word goes on, and "bonvolutinal"'s stem "bonvolutin" is three edits from "convolut", "bonvolut"
    one."""
    shortest = min(len(term) - limit, max(RESPELL_SHORTEST, len(typed) // 2))
    # The letters of the start of the word as long as each candidate could match.
    starts = [set(typed[: k + limit]) for k in range(len(typed) + limit + 1)]
    for cand, n in heapq.merge(*(c.items() for c in lists), key=lambda f: -f[1]):
        # Cheap tests first: the candidate is no longer than the word and at least half as long
        # (a stem can be far shorter than a word misspelt past stemming: "distil", "istillaiton"),
        # and an edit brings one letter at most that the start of the word lacks.
        if (
            shortest <= len(cand) <= len(typed) + limit
            and len(set(cand) - starts[len(cand)]) <= limit
            and text.edit_distance(typed, cand, limit, prefix=True) <= limit
        ):
            yield cand, n


def day_number(day: dt.date | None) -> int:
    return (day - EPOCH).days if day else 0


@dataclass(frozen=True)
class KeywordDoc:
    paper_id: int
    title: str
    abstract: str
    authors: list[str]  # display names
    author_keys: list[str]
    categories: list[str]
    day: dt.date | None


@dataclass(frozen=True)
class Filters:
    categories: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    author: str | None = None  # an author key ("yann-lecun") or a name

    def __bool__(self) -> bool:
        return bool(self.categories or self.since or self.until or self.author)


def layout_version(fields: Iterable[str]) -> int:
    """The version of an index that recorded none (written before 2026-12-02), by its fields."""
    return 2 if "words" in fields else 1


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_integer_field("id", stored=True, indexed=True, fast=True)  # i64: Python ints are i64 terms
    for name in ("body", "title", "abstract", "authors"):
        b.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    # The words of title and abstract as written (unstemmed, no positions): a stem's spellings in
    # the papers, for "did you mean" (KeywordIndex._spellings).
    b.add_text_field("words", tokenizer_name="whitespace", index_option="basic")
    b.add_text_field("cat", tokenizer_name="raw", index_option="basic")
    b.add_text_field("akey", tokenizer_name="raw", index_option="basic")
    b.add_integer_field("day", indexed=True, fast=True)
    return b.build()


class KeywordIndex:
    """A tantivy index in a directory (or in memory when `path` is None, for tests).

    One writer at a time (tantivy's own lock, plus the caller's indexing lock); readers in any number
    of processes pick up commits through `refresh()`."""

    def __init__(self, path: Path | None) -> None:
        """An index of another schema under `path` is a ValueError (indexing.keyword_staleness tells
        why before anything opens it; the indexer builds such an index again beside it)."""
        self.schema = _schema()
        if path is None:
            self.index = tantivy.Index(self.schema)
        else:
            path.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self._writer: Any = None
        self._lock = threading.Lock()
        # KeywordIndex._terms, by first letter.
        self._common: dict[str, dict[str, int]] = {}
        # KeywordIndex._inner: every such term, by its second and third letters.
        self._inner: dict[str, dict[str, int]] | None = None
        # KeywordIndex._spellings, by stem.
        self._spelt: dict[str, dict[str, tuple[int, int]]] = {}
        # KeywordIndex._pieces, by spelling.
        self._broken: dict[str, float] = {}

    # --- writing -------------------------------------------------------------------------------

    def _w(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        return self._writer

    def upsert(self, docs: Iterable[KeywordDoc]) -> int:
        w, n = self._w(), 0
        for d in docs:
            w.delete_documents_by_term("id", d.paper_id)
            doc = tantivy.Document()
            doc.add_integer("id", d.paper_id)
            in_title, in_abstract = text.tokens(d.title, stem=False), text.tokens(d.abstract, stem=False)
            title, abstract = " ".join(text.stemmed(in_title)), " ".join(text.stemmed(in_abstract))
            doc.add_text("body", f"{title} {abstract}")
            doc.add_text("title", title)
            doc.add_text("abstract", abstract)
            doc.add_text("words", " ".join(in_title + in_abstract))
            doc.add_text("authors", " ".join(text.analysed(a, stem=False) for a in d.authors))
            for c in d.categories:
                doc.add_text("cat", c)
            for k in d.author_keys:
                doc.add_text("akey", k)
            doc.add_integer("day", day_number(d.day))
            w.add_document(doc)
            n += 1
        return n

    def clear(self) -> None:
        """Remove every document (at the next commit)."""
        self._w().delete_all_documents()

    def delete(self, paper_ids: Iterable[int]) -> None:
        w = self._w()
        for pk in paper_ids:
            w.delete_documents_by_term("id", pk)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.refresh()

    def refresh(self) -> None:
        self.index.reload()
        self._common, self._inner, self._spelt, self._broken = {}, None, {}, {}

    # --- reading -------------------------------------------------------------------------------

    @property
    def num_docs(self) -> int:
        return int(self.index.searcher().num_docs)

    def respelling(self, word: str, context: Sequence[str] = ()) -> str | None:
        """A word as typed, respelt when the index has its term in few papers (RESPELL_*), or the
        papers seldom write it so though its term is frequent (_respelt_word), else None:
        the likeliest edit of it (one letter changed, added, dropped or two swapped) whose term is in
        far more papers than its own, weighing how frequent it is, how common the typo, and how
        often it is next to its neighbours in `context` (the index terms of the query's words, in
        order); failing that, the most frequent term of titles and abstracts within edit distance 1,
        else 2, of its term, written as a word like it ("diffus" -> "diffusion"). Each part of a word
        joined by punctuation ("Txet-Based", "Lnaguages:") is respelt on its own."""
        parts = _JOINS.split(word)
        fixed = [p if i % 2 else (self._respelt_part(p, context) or p) for i, p in enumerate(parts)]
        return "".join(fixed) if fixed != parts else None

    def _respelt_part(self, word: str, context: Sequence[str]) -> str | None:
        if word.isupper():
            return self._respelt_capitals(word, context)
        if any(c.isupper() for c in word[2:]):
            return None  # a capital inside a word marks a name ("StainNet", "LoRA"), not a typo
        better = self._respelling(word, context)
        if better is None or text.same_word(text.fold(word), better):
            # "Generalised" is "Generalized" spelt the British way, no typo: both find the same
            # papers (text.american), and the papers' commoner spelling is not offered.
            return None
        return better.capitalize() if word[:1].isupper() else better

    def _respelt_capitals(self, word: str, context: Sequence[str]) -> str | None:
        """A word in capitals is an acronym or a model's name ("EGTM", "GRPO") far more often than a
        shouted typo, and another acronym is often an edit away ("EGTM" -> "GETS"): it is respelt
        only when no paper has it, as a word or an author's name, and its respelling is a single
        slip (CAPITALS_COST: two letters swapped, a neighbouring key, a letter doubled or a like
        sound): "GRPAH" -> "GRAPH", "TRASNFORMER" -> "TRANSFORMER"."""
        typed = text.fold(word)
        searcher = self.index.searcher()
        if int(searcher.doc_freq("words", typed)) or int(searcher.doc_freq("authors", typed)):
            return None
        better = self._respelling(word, context)
        if better is None or text.same_word(typed, better) or text.typo_cost(typed, better) > CAPITALS_COST:
            return None
        return better.upper()

    def _respelling(self, word: str, context: Sequence[str]) -> str | None:
        typed = text.fold(word)
        terms = text.tokens(typed)
        if len(terms) != 1 or not typed.isalpha() or not RESPELL_SHORTEST <= len(terms[0]) <= RESPELL_LONGEST:
            return None
        term = terms[0]
        searcher = self.index.searcher()
        df, names = int(searcher.doc_freq("body", term)), int(searcher.doc_freq("authors", typed))
        if df + names > RESPELL_RARE:
            # A word of many papers, or a name of their authors ("Hinton", "Kaiming"); but a frequent
            # term can be a misspelt word's too ("controled" is "control" to the index).
            return self._respelt_word(typed, names) if df > RESPELL_RARE else None
        floor, limit = max(RESPELL_MIN, RESPELL_RATIO * df), 1 if len(term) < RESPELL_TWO else 2
        # Edits of the word itself: the stem of "infeernce" is no near neighbour of "inference"'s
        # ("infer"). Every edit is stemmed (~0.4 ms for the ~600 edits of a 10-letter word): an
        # edit's stem can be far shorter than it ("regularization" -> "regular", "writing" ->
        # "write"). Those that keep the first letter are counted in its term list, the others
        # (its typos: "gransformer", "rtansformer") by the index.
        edits = text.edits(typed)  # priced below, by their spellings in the papers (_likeliest)
        common = self._terms(term[0])
        kept = [e for e in edits if e[0] == typed[0]]
        moved = [e for e in edits if e[0] != typed[0]]
        stems = text.stems(kept + moved)
        counts = [common.get(t, 0) for t in stems[: len(kept)]]
        counts += [int(searcher.doc_freq("body", t)) for t in stems[len(kept) :]]
        near = {stem: n for stem, n in zip(stems, counts, strict=True) if n >= floor}
        # Two edits or more, scored as one: every frequent term near it among those starting with
        # its term's first letter, with its second (a letter typed before the word or the first two
        # swapped, plus one more typo: "ytansformer", "rtnasformer"), and, for the first letter
        # changed or dropped plus one more typo ("xransfomer", "Lrchitecure"), those whose second and
        # third letters are its term's or its first two. Looked up beside the edits, not only
        # failing them: an edit can be a word's broken-off end ("istillation", a typo of
        # "distillation"). Only terms in papers enough to beat the best so far at two typos'
        # cheapest are read, most frequent first, so that the bar rises as early as it can.
        scored = self._scored(typed, near)
        if limit == 2 or not scored:
            best = max((f[0] for f in scored), default=-math.inf)
            lists = [self._terms(term[0])]
            if len(term) > 1 and term[1] != term[0]:
                lists.append(self._terms(term[1]))
            if limit == 2:
                # Its first letter changed, or dropped (its term's first two letters are the second
                # and third), and the next two swapped, or a letter dropped after them.
                t = term
                lists += self._inner_terms(t[1:3], t[2:0:-1], t[1] + t[3:4], t[:2], t[1::-1], t[0] + t[2:3])
            seen = set(near)
            for cand, n in _near(typed, term, lists, limit):
                if n < floor or PRIOR_WEIGHT * math.log(n) - 2 * text.SWAP_COST < best:
                    break
                if cand not in seen:
                    seen.add(cand)
                    found = self._scored(typed, {cand: n}, best)
                    scored += found
                    best = max([best, *(f[0] for f in found)])
        if not scored:
            return None
        at = context.index(term) if term in context else -1
        before = context[at - 1] if at > 0 else ""
        after = context[at + 1] if 0 <= at < len(context) - 1 else ""
        return self._likeliest(scored, before, after)

    def _respelt_word(self, typed: str, names: int) -> str | None:
        """A word whose term is frequent, respelt when the papers seldom write it so (RESPELL_RARE, as
        a word of theirs or a name of their authors, together): the likeliest edit of it in
        RESPELL_RATIO times as many papers and at least RESPELL_MIN, as written ("words"), that keeps
        its first letter and its last two ("Controled" -> "Controlled", "Assistence" ->
        "Assistance", "Occurence" -> "Occurrence"). An edit of a word's ending makes another form of
        it ("Controllably", "Distillations"): a correctly spelt rare form is no typo of a frequent one.
        Words shorter than RESPELL_WORD_SHORTEST are left alone: their edits are other words."""
        if len(typed) < RESPELL_WORD_SHORTEST:
            return None
        searcher = self.index.searcher()
        seen = int(searcher.doc_freq("words", typed))
        if seen + names > RESPELL_RARE:
            return None
        floor = max(RESPELL_MIN, RESPELL_RATIO * seen)
        edits = [e for e in text.edits(typed) if e[0] == typed[0] and e[-2:] == typed[-2:]]
        # A word is in no more papers than its term: the term list rules out most edits for free.
        common = self._terms(typed[0])
        frequent = [e for e, t in zip(edits, text.stems(edits), strict=True) if common.get(t, 0) >= floor]
        scored = []
        for e in frequent:
            if text.same_word(typed, e):
                continue  # another spelling of the word, no typo ("generalised": text.american)
            n = int(searcher.doc_freq("words", e))
            if n >= floor:
                scored.append((PRIOR_WEIGHT * math.log(n) - text.typo_cost(typed, e), e))
        return max(scored)[1] if scored else None

    def _scored(
        self, typed: str, near: dict[str, int], bar: float = -math.inf
    ) -> list[tuple[float, str, str]]:
        """(score, spelling, stem) of each of the stems `near` ({stem: papers}) that `typed` may be
        a typo of: PRIOR_WEIGHT x the log of the stem's papers less the typo's cost to its likeliest
        spelling (_spelling), none dearer than TYPOS_COST, nor than would score under `bar`. The
        papers that have that spelling only as a piece of a longer word (_pieces) are not counted,
        and a stem left with fewer than RESPELL_MIN is none."""
        scored = []
        for stem, n in near.items():
            limit = min(TYPOS_COST, PRIOR_WEIGHT * math.log(n) - bar)
            cost, spelling = self._spelling(stem, typed, limit)
            # At most two typos however cheap: three cheap slips ("srowser" for "shows") are no
            # likelier than two dear ones.
            ok = cost <= limit and text.edit_distance(typed, spelling, TYPOS) <= TYPOS
            whole = n - self._pieces(spelling) if ok else 0.0
            if whole >= RESPELL_MIN:
                scored.append((PRIOR_WEIGHT * math.log(whole) - cost, spelling, stem))
        return scored

    def _likeliest(self, scored: list[tuple[float, str, str]], before: str, after: str) -> str | None:
        """The likeliest of the spellings `scored` (_scored) between the query's terms `before` and
        `after` ("" for none): CONTEXT_*."""
        scored.sort(reverse=True)
        if len(scored) == 1 or not (before or after) or scored[1][0] < scored[0][0] - CONTEXT_MARGIN:
            return scored[0][1]
        searcher = self.index.searcher()
        best = []
        for score, spelling, stem in scored[:CONTEXT_CANDIDATES]:
            for pair in ([before, stem], [stem, after]):
                if all(pair):
                    found = searcher.search(self._phrase("body", pair), 1, count=True)
                    score += math.log(1 + int(getattr(found, "count", 0) or 0))
            best.append((score, spelling))
        return max(best)[1]

    def _pieces(self, spelling: str) -> float:
        """How many of the papers with the word `spelling` have it as a longer word's end, broken off
        by their sources' typesetting (a hyphenation, a drop capital): FRAGMENT_RATE of the papers of
        each word that is `spelling` with a letter before it. "istillation" is in 10 papers,
        "distillation" in 2,420: all 10 are pieces of it (cached until the next reload)."""
        found = self._broken.get(spelling)
        if found is None:
            searcher = self.index.searcher()
            whole = sum(int(searcher.doc_freq("words", c + spelling)) for c in text.LETTERS)
            if len(self._broken) >= SPELLINGS_CACHED:
                self._broken.clear()
            found = self._broken[spelling] = FRAGMENT_RATE * whole
        return found

    def _spelling(self, stem: str, typed: str, limit: float = TYPOS_COST) -> tuple[float, str]:
        """(typo's cost, word): the spelling of `stem` in the papers likeliest meant by `typed`,
        PRIOR_WEIGHT x the log of its papers less the typo's cost (text.typo_cost), so the word as
        the papers spell it ("Qeinforcment" -> "Reinforcement", not "Reinforcment"), and the form
        typed ("infeernces" -> "inferences"). A stem no paper spells (a short one, whose words are
        not listed) is written as a word like `typed` (text.spelled). A typo dearer than `limit` is
        given as some cost over it."""
        best: tuple[float, float, str] | None = None
        # Each spelling is weighed with the papers of all its spellings of the same word, British and
        # American ("generalised", "generalized"), so that a typo is respelt in the spelling typed:
        # "Generlaised" -> "Generalised", which is one slip from it, not the commoner "Generalized".
        for word, (_, same) in self._spellings(stem).items():  # most frequent first
            prior = PRIOR_WEIGHT * math.log(same)
            # Past the first, none in RESPELL_RARE papers or fewer (a typo, as a query word would be:
            # "reinforcment"), nor one whose cheapest typo cannot make up for the papers it lacks.
            if best is not None and (same <= RESPELL_RARE or prior - best[0] < text.SWAP_COST):
                break
            cost = text.typo_cost(typed, word, limit if best is None else min(limit, prior - best[0]))
            if best is None or prior - cost > best[0]:
                best = (prior - cost, cost, word)
        if best is None:
            word = text.spelled(stem, typed)
            return text.typo_cost(typed, word, limit), word
        return best[1], best[2]

    def _spellings(self, stem: str) -> dict[str, tuple[int, int]]:
        """The words of titles and abstracts whose term is `stem`, with their papers and those of all
        its spellings of the same word (text.same_word: "generalised" and "generalized" are one),
        most frequent first by the second, then the first (cached until the next reload). A snowball
        stem is the start of its words but for its last letter at most: a final y made i ("studi"),
        an e put back ("prune" for "pruning"), -ble for -bility ("capabl" for "capabilities")."""
        found = self._spelt.get(stem)
        if found is None:
            start = stem[:-1]
            words = self.index.searcher().terms_with_prefix("words", start) if len(start) >= 3 else []
            listed = [(w, int(n)) for w, n in words if text.term_of(w) == stem]
            keys = {w: text.loosely(w) for w, _ in listed}
            same: dict[str, int] = {}
            for w, n in listed:
                same[keys[w]] = same.get(keys[w], 0) + n
            ranked = sorted(((w, (n, same[keys[w]])) for w, n in listed), key=lambda f: (-f[1][1], -f[1][0]))
            if len(self._spelt) >= SPELLINGS_CACHED:
                self._spelt.clear()
            found = self._spelt[stem] = dict(ranked)
        return found

    def _terms(self, letter: str) -> dict[str, int]:
        """The terms of title and abstract starting with `letter` that are in RESPELL_MIN papers
        or more, most frequent first (read from the term dictionary once per reload)."""
        common = self._common.get(letter)
        if common is None:
            found = self.index.searcher().terms_with_prefix("body", letter)
            common = self._common[letter] = {t: int(n) for t, n in found if int(n) >= RESPELL_MIN}
        return common

    def _inner_terms(self, *inners: str) -> list[dict[str, int]]:
        """For each of `inners`, the terms in RESPELL_MIN papers or more whose second and third
        letters it is, most frequent first. The whole term dictionary is read for it once per reload
        (~0.4 s for 114,000 terms), when a word of 6 letters or more is first respelt."""
        if self._inner is None:
            self._inner = {}
            found = self.index.searcher().terms_with_prefix("body", "")
            for t, n in sorted(((t, int(n)) for t, n in found if int(n) >= RESPELL_MIN), key=lambda f: -f[1]):
                self._inner.setdefault(t[1:3], {})[t] = n
        return [self._inner[i] for i in dict.fromkeys(inners) if i in self._inner]

    def _phrase(self, field: str, terms: list[str]) -> Any:
        words: list[str | tuple[int, str]] = [*terms]
        return tantivy.Query.phrase_query(self.schema, field, words)

    def _clause(self, c: Clause) -> Any:
        """A required or excluded clause; None when it has no searchable term (e.g. only stop words)."""
        fields = [c.field or "body"]
        alts = []
        for f in fields:
            terms = text.tokens(c.text, stem=f != "authors")
            if not terms:
                continue
            if len(terms) == 1:
                alts.append(tantivy.Query.term_query(self.schema, f, terms[0]))
            elif c.phrase:
                alts.append(self._phrase(f, terms))
            else:  # au:"lecun yann" unquoted parts, ti:x y → every term in that field
                alts.append(
                    tantivy.Query.boolean_query(
                        [(tantivy.Occur.Must, tantivy.Query.term_query(self.schema, f, t)) for t in terms]
                    )
                )
        alts += [tantivy.Query.term_query(self.schema, "akey", k) for k in c.keys]
        if not alts:
            return None
        return (
            alts[0]
            if len(alts) == 1
            else tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in alts])
        )

    def _word_queries(self, words: list[str]) -> list[Any]:
        out = []
        boosts = {"body": BODY_BOOST, "title": TITLE_BOOST}
        for w in words:
            stemmed, names = text.tokens(w), text.tokens(w, stem=False)
            per_field = []
            for f, boost in boosts.items():
                if len(stemmed) == 1:
                    q = tantivy.Query.term_query(self.schema, f, stemmed[0])
                elif stemmed:  # "multi-agent", "state-of-the-art": a phrase of its parts
                    q = self._phrase(f, stemmed)
                else:
                    continue
                per_field.append(tantivy.Query.boost_query(q, boost))
            if len(names) == 1:
                per_field.append(
                    tantivy.Query.boost_query(
                        tantivy.Query.term_query(self.schema, "authors", names[0]), AUTHORS_BOOST
                    )
                )
            out += per_field
        name = [t for w in words for t in text.tokens(w, stem=False)]
        if AUTHOR_NAME_BOOST and 2 <= len(name) <= 4:
            out.append(tantivy.Query.boost_query(self._phrase("authors", name), AUTHOR_NAME_BOOST))
        terms = [t for w in words for t in text.tokens(w)]
        if PHRASE_BOOST and 1 < len(terms) <= 8:
            for a, b in itertools.pairwise(terms):
                for f in ("body",):
                    pq = self._phrase(f, [a, b])
                    out.append(tantivy.Query.boost_query(pq, PHRASE_BOOST))
        return out

    def _filter(self, filters: Filters, categories: list[str]) -> list[Any]:
        out = []
        cats = [*filters.categories, *categories]
        if cats:
            out.append(tantivy.Query.term_set_query(self.schema, "cat", cats))
        if filters.since or filters.until:
            out.append(
                tantivy.Query.range_query(
                    self.schema,
                    "day",
                    tantivy.FieldType.Integer,
                    day_number(filters.since) if filters.since else None,
                    day_number(filters.until) if filters.until else None,
                )
            )
        if filters.author:
            names = text.tokens(filters.author, stem=False)
            alts = [tantivy.Query.term_query(self.schema, "akey", filters.author)]
            if len(names) == 1:
                alts.append(tantivy.Query.term_query(self.schema, "authors", names[0]))
            elif names:
                alts.append(self._phrase("authors", names))
            out.append(tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in alts]))
        return out

    def build(self, parsed: ParsedQuery, filters: Filters) -> tuple[Any, bool]:
        """(query, ranked): ranked is False when nothing scores (only filters or required clauses)."""
        must = [q for c in parsed.required if (q := self._clause(c)) is not None]
        must += self._filter(filters, parsed.categories)
        must_not = [q for c in parsed.excluded if (q := self._clause(c)) is not None]
        should = self._word_queries(parsed.words)
        parts: list[tuple[Any, Any]] = []
        if should:
            parts.append(
                (tantivy.Occur.Must, tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in should]))
            )
        parts += [(tantivy.Occur.Must, q) for q in must]
        if not parts:
            if parsed.words or parsed.required:
                return tantivy.Query.empty_query(), True  # only stop words or punctuation
            parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        parts += [(tantivy.Occur.MustNot, q) for q in must_not]
        return tantivy.Query.boolean_query(parts), bool(should or parsed.required)

    def search(
        self, parsed: ParsedQuery, filters: Filters, limit: int, *, by_date: bool = False
    ) -> tuple[list[tuple[int, float]], int]:
        """[(paper_id, bm25 score)] best first (or newest first), and the number of matches."""
        query, ranked = self.build(parsed, filters)
        searcher = self.index.searcher()
        if by_date or not ranked:
            res = searcher.search(query, limit, count=True, order_by_field="day")
        else:
            res = searcher.search(query, limit, count=True)
        addrs = [a for _, a in res.hits]
        ids = [int(i or 0) for i in searcher.fast_field_values("id", addrs)] if addrs else []
        scores = [float(s) if ranked and not by_date else 0.0 for s, _ in res.hits]
        return list(zip(ids, scores, strict=True)), int(getattr(res, "count", 0) or 0)

    def with_every_word(self, words: list[str], paper_ids: list[int]) -> set[int]:
        """Which of `paper_ids` contain every one of `words` (each as the ranking matches it: in the
        title, the abstract or the authors); stop words ask nothing."""
        per_word = [qs for w in words if (qs := self._word_queries([w]))]
        if not per_word or not paper_ids:
            return set(paper_ids)
        musts = [tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs]) for qs in per_word]
        return self._among(paper_ids, [(tantivy.Occur.Must, q) for q in musts])

    def matching(self, parsed: ParsedQuery, filters: Filters, paper_ids: list[int]) -> set[int]:
        """Which of `paper_ids` satisfy the query's required and excluded clauses and the filters
        (for hits the vector leg found)."""
        must = [q for c in parsed.required if (q := self._clause(c)) is not None]
        must += self._filter(filters, parsed.categories)
        must_not = [q for c in parsed.excluded if (q := self._clause(c)) is not None]
        if not (must or must_not) or not paper_ids:
            return set(paper_ids)
        parts = [(tantivy.Occur.Must, q) for q in must] + [(tantivy.Occur.MustNot, q) for q in must_not]
        return self._among(paper_ids, parts)

    def matches(self, parsed: ParsedQuery, filters: Filters, paper_ids: list[int]) -> set[int]:
        """Which of `paper_ids` the keyword query matches (words, clauses and filters), however low
        they rank (for counting the vector leg's hits that are keyword matches too)."""
        query, _ = self.build(parsed, filters)
        return self._among(paper_ids, [(tantivy.Occur.Must, query)]) if paper_ids else set()

    def _among(self, paper_ids: list[int], parts: list[tuple[Any, Any]]) -> set[int]:
        """Which of `paper_ids` also satisfy the clauses `parts` ((Occur, query) pairs)."""
        ids = (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "id", paper_ids))
        searcher = self.index.searcher()
        res = searcher.search(tantivy.Query.boolean_query([ids, *parts]), len(paper_ids), count=False)
        addrs = [a for _, a in res.hits]
        return {int(i or 0) for i in searcher.fast_field_values("id", addrs)} if addrs else set()
