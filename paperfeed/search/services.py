"""Search and similar papers: the one service behind the CLI, the pages, the API, digests and recs.

    search(query, *, mode="hybrid", limit=20, offset=0, category=None, since=None, until=None,
           author=None, sort="relevance") -> SearchResults
    similar(papers, *, limit=10, category=None, since=None, until=None) -> SearchResults
        papers: an arXiv id, a paper pk, or a list of either ("more like this collection")

Never raises on user input: unusable queries give an empty result with a `message`; an invalid
filter (a date that is not one, a category neither arXiv nor a stored paper has) or parameter also
sets `error`, which the CLI exits on and the API answers 400 with. Hybrid search
runs the keyword leg (BM25, `keyword.py`) here and the semantic leg (query embedding + vector index)
in a worker thread, at the same time, with a time budget; if it is slow or failing the answer is
keyword only and `degraded` is set (RELIABILITY L7). The two ranked lists are fused by a convex
combination of their min-max normalised scores (SEMANTIC_WEIGHT below, tuned on the CACM dev
queries; bench/README.md). A query whose quoted phrases no paper contains is retried with the
phrases as plain words (and says so).

Counting and paging: each leg contributes its first LEG_DEPTH candidates to the fusion, whatever the
page or sort, so the fused ranking and `total` (keyword matches plus the nearest papers by meaning
that are not among them) are the same on every page; keyword matches past that depth follow in BM25
order. Semantic mode has no matches to count, only the nearest papers (`counted` is False): its
`summary` says "top N by meaning". A sort orders the SORT_POOL most relevant; `listed` says how many
a sort (or the MAX_LISTED cap) lists, and the pages end there.

Sort by "votes" (or anything else) is a hook: another app calls `register_sort(name, fn)` (sorts.py,
re-exported here) with fn(paper_ids) -> {paper_id: number} (higher first); search never imports
that app.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError

from paperfeed.conf import env_float
from paperfeed.core import clock
from paperfeed.core.leases import LeaseLost
from paperfeed.papers import services as papers
from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import Author, Paper
from paperfeed.papers.records import slugify_name
from paperfeed.search import text
from paperfeed.search.query import (
    MAX_QUERY_CHARS,
    Clause,
    InvalidFilter,
    ParsedQuery,
    date_range,
    parse,
    relaxed,
    respelt,
)
from paperfeed.search.sorts import SORTS, register_sort  # noqa: F401  (register_sort: the hook named above)

# The indexes (tantivy, numpy, the model) are imported where a search runs: every command and web
# process imports this module at start-up, and most never search.
if TYPE_CHECKING:
    from paperfeed.search.keyword import Filters, KeywordIndex
    from paperfeed.search.vectors import VectorIndex

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
MAX_LIMIT = 100
MAX_LISTED = 1000  # results a query lists (the site's 50 pages of 20): past them it needs narrowing
# Fusion: score = (1 - SEMANTIC_WEIGHT) * bm25' + SEMANTIC_WEIGHT * cosine', each min-max normalised
# over its leg's candidates (a paper missing from a leg gets 0 there). On the CACM dev queries it beat
# weighted reciprocal rank fusion (best 0.538 at k=60) with 0.534-0.540 over weights 0.3-0.4.
SEMANTIC_WEIGHT = 0.35
LEG_DEPTH = 100  # candidates each leg contributes to the fusion, on every page and sort
# A result only the semantic leg found, with a cosine to the query under this, is flagged as weak:
# "related by meaning, no matching words" (Hit.is_weak_meaning). MiniLM on the search tests' papers:
# a query's own paper 0.45-0.67, a related one without the words 0.27-0.32, unrelated ones under 0.2.
# Not yet tuned on CACM (bench/README.md).
WEAK_SIMILARITY = 0.30
SORT_POOL = 300  # sort=date|votes orders this many of the most relevant matches
SNIPPET_CHARS = 240

NOT_BUILT = "the search index is not built yet (run `paperfeed index`)"
STALE = "the search index is being rebuilt for this version of paperfeed"
STALE_RECHECK_SECONDS = 60.0  # (scaled) how often a process looks at a stale index's rebuild queue


@dataclass
class Hit:
    paper_id: int
    arxiv_id: str
    title: str
    score: float
    title_html: str = ""
    snippet_html: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    announced: str | None = None
    legs: dict[str, int] = field(default_factory=dict)  # leg -> rank (1 = best) in that leg
    why: str = ""
    # The cosine similarity to the query when the semantic leg found it (None otherwise): what tells
    # a weak nearest-by-meaning result (is_weak_meaning) from a close one. Not in the JSON (yet).
    similarity: float | None = None
    # Positions in `authors` of those the query's au: clauses or author filter name: a list shows them
    # whatever their place (feed.searching.author_line). Not in the JSON (yet).
    matched_authors: list[int] = field(default_factory=list)

    @property
    def is_weak_meaning(self) -> bool:
        """Found by meaning alone (none of the words) and not close to it: the nearest papers of a
        query the collection has little on, which a page should say are there for that."""
        return set(self.legs) == {"semantic"} and (self.similarity or 0.0) < WEAK_SIMILARITY

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        # The database's row number is no public name of a paper (nothing outside this process can
        # look a paper up by it, and a copied database renumbers); its arXiv id is.
        del out["similarity"], out["paper_id"], out["matched_authors"]
        out["id"] = out.pop("arxiv_id")
        out["score"] = round(self.score, 6)
        return out


@dataclass
class SearchResults:
    query: str
    mode: str
    hits: list[Hit] = field(default_factory=list)
    # Keyword matches plus the semantic leg's papers that are not among them; the same on every page
    # and sort. Not `counted`: the number of nearest papers by meaning (semantic mode).
    total: int = 0
    counted: bool = True
    listed: int = 0  # how many of them the pages list: a sort orders only the most relevant
    note: str = ""  # why fewer are listed than counted
    capped: bool = False  # fewer are listed than counted because of MAX_LISTED (not a sort)
    offset: int = 0
    limit: int = 20
    message: str = ""
    error: str = ""  # an invalid filter or parameter: nothing was searched
    searchable: bool = True  # False: nothing to search for (no words, or only stop words)
    indexed: bool = True  # False: no index has been built yet, so nothing could be searched
    degraded: bool = False
    parsed: dict[str, Any] = field(default_factory=dict)
    took_ms: float = 0.0
    # "Did you mean": the query with its misspelt words respelt, when that finds more (else None).
    suggestion: str | None = None
    # What the message says about the query itself (cut, pieces left out, unknown fields), which a
    # fallback that replaces the message keeps.
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> str:
        """What `total` is, in words: "635 matches", "top 100 by meaning"."""
        if self.error or not self.searchable or not (self.total or self.counted):
            return ""
        if self.counted:
            return f"{self.total} match{'' if self.total == 1 else 'es'}"
        return f"top {self.total} by meaning"

    @property
    def summary(self) -> str:
        """`count`, and why fewer are listed (the list the site's pages go through)."""
        head = self.count
        return f"{head} ({self.note})" if head and self.note else head

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "total": self.total,
            "counted": self.counted,
            "listed": self.listed,
            "summary": self.summary,
            "offset": self.offset,
            "limit": self.limit,
            "message": self.message,
            # What the command line reads as failure: an index not built yet searched nothing, and
            # an empty list would read as "no paper matches".
            "error": self.error or ("" if self.indexed else self.message),
            "degraded": self.degraded,
            "parsed": self.parsed,
            "suggestion": self.suggestion,
            "took_ms": round(self.took_ms, 2),
            "results": [h.as_json() for h in self.hits],
        }


class Engine:
    """This process's view of the indexes; re-opened when the indexer commits (any process)."""

    def __init__(
        self, keyword: KeywordIndex | None = None, vectors: VectorIndex | None = None, embedder: Any = None
    ) -> None:
        self._keyword, self._vectors, self._embedder = keyword, vectors, embedder
        self._kw_stamp: tuple[int, int] | None = None
        self._kw_dir: int | None = None  # the directory's inode: a rebuild swaps in another one
        # Why there is no keyword index to search (NOT_BUILT, or a stale one's rebuild), and when
        # (clock.monotonic) the rebuild's queue was last looked at.
        self.keyword_missing = NOT_BUILT
        self._stale_checked = -math.inf
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="semantic")
        self._busy = threading.Event()  # a semantic leg is still running (maybe stuck)

    @property
    def keyword(self) -> KeywordIndex | None:
        from paperfeed.search.indexing import keyword_dir, open_keyword

        path = keyword_dir()
        stamp, inode = _stamp(path / "state.json"), _stamp(path)
        if self._keyword is not None and stamp != self._kw_stamp:
            if self._kw_dir is not None and (inode is None or inode[1] != self._kw_dir):
                self._keyword = None  # a rebuilt index was swapped in: open that one
            else:
                self._keyword.refresh()  # an indexer (any process) committed since
        if self._keyword is None:
            if not (path / "meta.json").exists():
                self.keyword_missing = NOT_BUILT
                return None
            self._keyword, stale = open_keyword(path)
            if stale is not None:
                self._note_stale(stale)
                return None
            self._kw_dir = inode[1] if inode else None
        self._kw_stamp = stamp
        return self._keyword

    def _note_stale(self, stale: str) -> None:
        """A stale keyword index: searches answer without it, and its rebuild is enqueued once for
        all processes (tasks.queue_keyword_rebuild), looked at again every STALE_RECHECK_SECONDS."""
        from paperfeed.search.indexing import keyword_staleness
        from paperfeed.search.tasks import queue_keyword_rebuild

        if clock.monotonic() - self._stale_checked < STALE_RECHECK_SECONDS:
            return
        self._stale_checked = clock.monotonic()
        try:
            state = queue_keyword_rebuild(keyword_staleness)
        except (DatabaseError, LeaseLost) as e:  # the database down or read-only: the next look tries again
            log.warning("keyword index: %s; its rebuild could not be queued (%s)", stale, e)
            state = "rebuild not queued yet"
        self.keyword_missing = f"{STALE} (keyword index: {stale}, {state})"

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is None:
            from paperfeed.search.indexing import vector_dir
            from paperfeed.search.vectors import VectorIndex

            self._vectors = VectorIndex(vector_dir())
        else:
            self._vectors.refresh()
        return self._vectors

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from paperfeed.search.embedding import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def start_semantic(
        self, query_text: str, vectors: VectorIndex, mask_args: dict[str, Any], depth: int
    ) -> concurrent.futures.Future[list[tuple[int, float]]] | str:
        """Start the vector leg in the worker thread (or say why not: a previous one is stuck)."""
        if self._busy.is_set():
            return "semantic search is busy or stuck; showing keyword matches only"
        try:
            embedder = self.embedder  # loaded here, once per process: loading is not a slow query
        except Exception:  # a missing or corrupt model file: keyword search still works
            log.exception("the embedding model could not be loaded; answering with keyword matches")
            return "semantic search is unavailable; showing keyword matches only"
        self._busy.set()

        def run() -> list[tuple[int, float]]:
            try:
                delay = env_float("PAPERFEED_SEARCH_FAULT_DELAY_MS") / 1000
                if delay:
                    time.sleep(delay)  # a fault injected for tests of the degraded path (L7)
                q = embedder.encode([query_text])[0]
                return vectors.search(q, depth, vectors.mask(**mask_args))
            finally:
                self._busy.clear()

        return self._pool.submit(run)

    def finish_semantic(
        self, started: concurrent.futures.Future[list[tuple[int, float]]] | str
    ) -> tuple[list[tuple[int, float]], str]:
        """The vector leg's hits within the time budget, or ([], the reason it has none)."""
        if isinstance(started, str):
            return [], started
        budget = env_float("PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS") / 1000
        try:
            return started.result(timeout=budget), ""
        except concurrent.futures.TimeoutError:
            log.warning("semantic leg over its %.0f ms budget; answering with keyword matches", budget * 1000)
            return [], "semantic search is slow right now; showing keyword matches only"
        except Exception:
            log.exception("semantic leg failed; answering with keyword matches")
            return [], "semantic search failed; showing keyword matches only"


def _stamp(path: Any) -> tuple[int, int] | None:
    """Identity of a file that is replaced (renamed over), never written in place."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine


def use_engine(e: Engine | None) -> None:
    """Install another engine (tests: in-memory indexes); None: back to the default."""
    global _engine
    with _engine_lock:
        _engine = e


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def fuse(legs: dict[str, list[tuple[int, float]]]) -> list[tuple[int, float, dict[str, int]]]:
    """Convex combination of min-max normalised leg scores: (paper_id, fused score, rank per leg)."""
    weights = {"keyword": 1.0 - SEMANTIC_WEIGHT, "semantic": SEMANTIC_WEIGHT}
    fused: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for leg, hits in legs.items():
        if not hits:
            continue
        lo, hi = min(s for _, s in hits), max(s for _, s in hits)
        for rank, (pid, score) in enumerate(hits, 1):
            norm = (score - lo) / (hi - lo) if hi > lo else 1.0
            fused[pid] = fused.get(pid, 0.0) + weights[leg] * norm
            ranks.setdefault(pid, {})[leg] = rank
    order = sorted(fused, key=lambda p: (-fused[p], p))
    return [(p, fused[p], ranks[p]) for p in order]


def known_categories(codes: Sequence[str]) -> list[str]:
    """The codes as stored (cs.lg -> cs.LG); InvalidFilter naming one that neither arXiv's taxonomy
    nor a stored paper has (cs.XX would find nothing, and "no paper matches" would blame the query)."""
    found, unknown = papers.resolve_categories(codes)
    if unknown:
        raise InvalidFilter(papers.no_such_categories(unknown), "category", unknown[0])
    return found


def _through_aliases(filters: Filters, parsed: ParsedQuery) -> tuple[Filters, ParsedQuery]:
    """Author keys and spellings from before a re-key (`AuthorAlias`: "hans-m-uller", or "Matthias
    Niener" before ß was written out) find the papers the author's key finds now: the index holds
    only current keys and names. `au:` clauses get the current keys their text names, as a key or as
    a name's key; an old key in --author becomes the current one."""
    clauses = [c for c in [*parsed.required, *parsed.excluded] if c.field == "authors"]
    spelled = {c.text: {c.text.strip().lower(), slugify_name(c.text)} - {"unknown"} for c in clauses}
    wanted = {k for keys in spelled.values() for k in keys} | ({filters.author} if filters.author else set())
    if not wanted:
        return filters, parsed
    current = Author.objects.current_keys(wanted)

    def keyed(c: Clause) -> Clause:
        if c.field != "authors":
            return c
        return replace(c, keys=tuple(sorted({current[k] for k in spelled[c.text] if k in current})))

    parsed.required = [keyed(c) for c in parsed.required]
    parsed.excluded = [keyed(c) for c in parsed.excluded]
    if filters.author in current:
        filters = replace(filters, author=current[filters.author])
    return filters, parsed


def search(
    query: str,
    *,
    mode: str = "hybrid",
    limit: int = 20,
    offset: int = 0,
    category: str | Sequence[str] | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    author: str | None = None,
    sort: str = "relevance",
) -> SearchResults:
    from paperfeed.search.keyword import Filters, day_number

    started = time.perf_counter()
    query = query if isinstance(query, str) else ""
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    res = SearchResults(query=query, mode=mode if mode in MODES else "hybrid", offset=offset, limit=limit)
    if mode not in MODES:
        return _refused(res, f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if sort not in SORTS:
        return _refused(res, f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    parsed = parse(query)
    res.parsed = parsed.as_json()
    cats = (category,) if isinstance(category, str) else tuple(category or ())
    try:
        filters = Filters(
            tuple(known_categories(cats)), *date_range(since, until), (author or "").strip() or None
        )
        parsed.categories = known_categories(parsed.categories)
    except InvalidFilter as e:
        return _refused(res, str(e))
    filters, parsed = _through_aliases(filters, parsed)
    messages = [f"the query was cut to its first {MAX_QUERY_CHARS} characters"] if parsed.truncated else []
    messages += [note for note in (parsed.unknown_note, parsed.bare_note, parsed.dropped_note) if note]
    res.notes = list(messages)
    if parsed.is_empty and not filters:
        # Something typed and all of it left out (`(((`) is not an empty query.
        nothing = "nothing to search for: only stop words or punctuation" if parsed.dropped_note else ""
        res.message = "; ".join([nothing or "type some words to search for", *messages])
        res.searchable = False
        return res
    has_words = any(text.tokens(t, stem=False) for t in [*parsed.words, *(c.text for c in parsed.required)])
    if not has_words and (parsed.words or parsed.required):
        if not (parsed.categories or filters):
            nothing = "nothing to search for: only stop words or punctuation"
            res.message, res.searchable = "; ".join([nothing, *messages]), False
            return res
        messages.append("the words are only stop words or punctuation; listing what the filters match")
    eng = engine()
    kw = eng.keyword
    if kw is None:
        res.message, res.indexed = eng.keyword_missing, False
        return res
    # The keyword leg goes as deep as the page (or the sort's pool) needs: BM25 order does not change
    # with depth. Everything that is fused or counted stays at LEG_DEPTH, so that neither moves
    # from one page or sort to the next.
    kw_depth = min(max(LEG_DEPTH, offset + limit, SORT_POOL if sort != "relevance" else 0), MAX_LISTED)
    legs: dict[str, list[tuple[int, float]]] = {}
    kw_total = 0
    semantic = None
    if mode in ("hybrid", "semantic") and text.tokens(parsed.semantic_text, stem=False):
        vectors = eng.vectors
        if vectors.size:
            mask_args: dict[str, Any] = {
                "categories": [*filters.categories, *parsed.categories],
                "since": day_number(filters.since) if filters.since else None,
                "until": day_number(filters.until) if filters.until else None,
            }
            if filters.author:
                ids, _ = kw.search(ParsedQuery(raw=""), Filters(author=filters.author), 10_000)
                mask_args["paper_ids"] = [i for i, _ in ids]
            semantic = eng.start_semantic(parsed.semantic_text, vectors, mask_args, LEG_DEPTH)
        elif mode == "semantic":
            messages.append("no paper has an embedding yet; showing keyword matches")
    if mode != "semantic" or semantic is None:
        legs["keyword"], kw_total = kw.search(parsed, filters, kw_depth)
        if not kw_total and (loose := relaxed(parsed)) is not None:
            parsed = loose
            legs["keyword"], kw_total = kw.search(parsed, filters, kw_depth)
            if kw_total:  # else it would announce papers it does not show, above "no paper matches"
                messages.append("no paper has those exact phrases; showing papers with their words")
        # Here, not after the fusion: in hybrid mode it costs nothing while the semantic leg runs.
        res.suggestion = _suggestion(kw, query, filters, kw_total)
    if semantic is not None:
        found, problem = eng.finish_semantic(semantic)
        if problem:
            res.degraded = True
            messages.append(problem)
            if "keyword" not in legs:
                legs["keyword"], kw_total = kw.search(parsed, filters, kw_depth)
        elif found:
            ok = kw.matching(parsed, filters, [p for p, _ in found])
            legs["semantic"] = [(p, s) for p, s in found if p in ok]
    kw_hits, sem_hits = legs.get("keyword", []), legs.get("semantic", [])
    if "keyword" not in legs:  # the nearest papers by meaning: there are no matches to count
        fused = [(p, s, {"semantic": r}) for r, (p, s) in enumerate(sem_hits, 1)]
        res.total, res.counted = len(fused), False
    else:
        if len(legs) == 1:  # one leg: keep its own scores (BM25)
            fused = [(p, s, {"keyword": r}) for r, (p, s) in enumerate(kw_hits, 1)]
        else:
            fused = fuse({"keyword": kw_hits[:LEG_DEPTH], "semantic": sem_hits})
            head = {p for p, _, _ in fused}
            # Keyword matches past the fused ones follow in BM25 order; their keyword score would
            # normalise below the fused ones' lowest (0).
            fused += [
                (p, 0.0, {"keyword": r})
                for r, (p, _) in enumerate(kw_hits[LEG_DEPTH:], LEG_DEPTH + 1)
                if p not in head
            ]
        fetched = {p for p, _ in kw_hits}
        extra = [p for p, _ in sem_hits if p not in fetched]
        if extra and kw_total > len(kw_hits):  # some may be keyword matches ranked past the fetched
            matched = kw.matches(parsed, filters, extra)
            extra = [p for p in extra if p not in matched]
        res.total = kw_total + len(extra)
        if not kw_total and extra:
            # Not one paper has the words (a typo, a word no abstract uses): what is listed is only
            # the nearest by meaning, and "100 matches" would claim otherwise.
            res.counted = False
            messages.append("no paper has these words; showing the nearest by meaning")
    res.listed = min(res.total, MAX_LISTED)
    if res.total > MAX_LISTED:
        res.note, res.capped = f"the first {MAX_LISTED} are listed", True
    if sort != "relevance" and fused:
        pool = fused[:SORT_POOL]
        part = f"the {len(pool)} most relevant" if len(pool) < res.total else ""
        if len(parsed.words) > 1:
            # Ranked by relevance, a paper with one of the words can still be worth showing low
            # down; sorted by date (a saved search's feed) it would sit among the newest, so there
            # every word is required, when any paper has them all.
            every = kw.with_every_word(parsed.words, [p for p, _, _ in pool])
            if every:
                kept = [f for f in pool if f[0] in every]
                if len(kept) < len(pool):
                    part = f"the {len(kept)} with every word" + (f" among {part}" if part else "")
                pool = kept
            else:
                messages.append("no paper has all of the words; showing the closest matches")
        fused = _sorted(pool, sort)
        res.listed, res.capped = len(pool), False
        res.note = f"sorted by {sort}: {part}" if part else ""
    res.hits = _hits(fused[: res.listed], offset, limit, parsed, dict(sem_hits), filters.author)
    if not res.hits and offset and res.listed:
        more = "; narrow the query to see others" if res.total > res.listed else ""
        messages.append(f"the list ends at {res.listed}{more}")
    if not res.hits and not messages:
        messages.append("no paper matches" if not parsed.is_empty else "no paper matches those filters")
    res.message = "; ".join(messages)
    res.took_ms = (time.perf_counter() - started) * 1000
    return res


def _suggestion(kw: KeywordIndex, query: str, filters: Filters, found: int) -> str | None:
    """The query with each word the index (nearly) lacks respelt as a far more frequent word near
    it (KeywordIndex.respelling), if that query matches papers, and no fewer than the `found` this
    one did: a word respelt as the papers write it ("Controled" -> "Controlled") finds the papers
    its term found, and is still worth offering."""
    # Each word is respelt in the light of the others: "Legal Sitation Graph" is about citations.
    context = [t for w in parse(query).words for t in text.tokens(w)]
    fixed = respelt(query, functools.partial(kw.respelling, context=context))
    if fixed is None:
        return None
    try:
        filters, again = _through_aliases(filters, parse(fixed))
        again.categories = known_categories(again.categories)
    except InvalidFilter:  # pragma: no cover - the same categories passed a moment ago
        return None
    if not found and _finds_some(again, filters, query):
        return fixed  # counting it costs as much again as the search (bench/README.md, b2)
    _, more = kw.search(again, filters, 1)
    return fixed if more and more >= found else None


def _finds_some(fixed: ParsedQuery, filters: Filters, query: str) -> bool:
    """Whether the respelt query `fixed` surely matches a paper without counting: it is words alone
    (any of them matches), and one of its new words is a single term, which respelling chose among
    those in RESPELL_MIN papers or more. A new word of several parts is a phrase that may be in none."""
    if filters or fixed.required or fixed.excluded or fixed.categories:
        return False
    typed = set(parse(query).words)
    return any(len(text.tokens(w)) == 1 for w in fixed.words if w not in typed)


def _refused(res: SearchResults, error: str) -> SearchResults:
    res.error = res.message = error
    return res


def _sorted(
    fused: list[tuple[int, float, dict[str, int]]], sort: str
) -> list[tuple[int, float, dict[str, int]]]:
    from paperfeed.search.keyword import day_number

    ids = [p for p, _, _ in fused]
    fn = SORTS[sort]
    if fn is None:  # date: newest announcement first
        days = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "announced"))
        key: dict[int, Any] = {p: day_number(days.get(p)) for p in ids}
    else:
        key = fn(ids)
    return sorted(fused, key=lambda f: (-(key.get(f[0]) or 0), -f[1]))


def _hits(
    fused: list[tuple[int, float, dict[str, int]]],
    offset: int,
    limit: int,
    parsed: ParsedQuery | None,
    similarity: dict[int, float] | None = None,
    author: str | None = None,
) -> list[Hit]:
    """The page of hits with their stored fields (and the semantic leg's cosine, `similarity`, by
    paper); papers no longer active are skipped. `author`: the author filter, as searched."""
    out: list[Hit] = []
    terms, surfaces = _highlight_terms(parsed) if parsed else (frozenset(), frozenset())
    asked = _authors_asked(parsed, author)
    start = offset
    while len(out) < limit and start < len(fused):
        window = fused[start : start + (limit - len(out)) + 5]
        start += len(window)
        fields = ("pk", "arxiv_id", "title", "abstract", "authors", "announced", "primary_category_id")
        rows = {
            r[0]: r for r in Paper.objects.active().filter(pk__in=[f[0] for f in window]).values_list(*fields)
        }
        cats = _categories(list(rows))
        for pid, score, ranks in window:
            row = rows.get(pid)
            if row is None:
                continue
            _, arxiv_id, title, abstract, authors, announced, primary = row
            out.append(
                Hit(
                    paper_id=pid,
                    arxiv_id=arxiv_id,
                    title=title,
                    score=score,
                    title_html=highlight(tex.prose(title), terms, whole=True, surfaces=surfaces),
                    snippet_html=highlight(tex.prose(abstract), terms, surfaces=surfaces),
                    authors=[a.get("name", "") for a in authors],
                    categories=cats.get(pid) or ([primary] if primary else []),
                    announced=announced.isoformat() if announced else None,
                    legs=ranks,
                    why=_why(ranks),
                    similarity=(similarity or {}).get(pid),
                    matched_authors=matched_authors(authors, asked) if asked else [],
                )
            )
            if len(out) == limit:
                break
    return out


def _categories(ids: list[int]) -> dict[int, list[str]]:
    from paperfeed.papers.models import PaperCategory

    out: dict[int, list[str]] = {}
    for pid, code in (
        PaperCategory.objects.filter(paper_id__in=ids)
        .order_by("position")
        .values_list("paper_id", "category_id")
    ):
        out.setdefault(pid, []).append(code)
    return out


def _why(ranks: dict[str, int]) -> str:
    parts = []
    if "keyword" in ranks:
        parts.append(f"matches your words (#{ranks['keyword']} by BM25)")
    if "semantic" in ranks:
        parts.append(f"close in meaning (#{ranks['semantic']} by embedding)")
    if "similar" in ranks:
        parts.append(f"similar to the given papers (#{ranks['similar']})")
    return "; ".join(parts)


def _authors_asked(
    parsed: ParsedQuery | None, author: str | None
) -> list[tuple[frozenset[str], frozenset[str]]]:
    """(author keys, name words) for each author the query asks for: its au: clauses (with the keys
    _through_aliases found for them) and the author filter (a key or a name)."""
    asked = [
        (frozenset(c.keys), frozenset(text.tokens(c.text, stem=False)))
        for c in (parsed.required if parsed else [])
        if c.field == "authors"
    ]
    if author:
        asked.append((frozenset({author}), frozenset(text.tokens(author, stem=False))))
    return asked


def matched_authors(
    authors: list[dict[str, Any]], asked: list[tuple[frozenset[str], frozenset[str]]]
) -> list[int]:
    """Positions of the `authors` (stored dicts: name, key) that `asked` names: by key, or with every
    word asked in the name; when no one author has them all (au:yann lecun unquoted matches words of
    any authors), those with any of them."""
    names = [frozenset(text.tokens(a.get("name", ""), stem=False)) for a in authors]
    found: set[int] = set()
    for keys, words in asked:
        hit = {i for i, a in enumerate(authors) if a.get("key") in keys or (words and words <= names[i])}
        found |= hit or {i for i, n in enumerate(names) if n & words}
    return sorted(found)


def _highlight_terms(parsed: ParsedQuery) -> tuple[frozenset[str], frozenset[str]]:
    """(index terms, words as typed) of the query's words and title/abstract clauses."""
    raw = [*parsed.words, *(c.text for c in parsed.required if c.field != "authors")]
    terms = frozenset(t for w in raw for t in text.tokens(w))
    return terms, frozenset(
        w for w in (m.group() for r in raw for m in text.SPAN.finditer(r)) if text.term_of(w)
    )


@functools.lru_cache(maxsize=1024)
def _candidates(terms: frozenset[str], surfaces: frozenset[str]) -> re.Pattern[str]:
    """Words that may carry one of `terms`: those starting like a term (a stem is, nearly always, a
    prefix of its words once its last letter is dropped) or spelled like it. Each candidate is then
    checked exactly with text.term_of; scanning every word of every abstract that way cost more than
    the rest of a query."""
    starts = {re.escape(t[: max(1, len(t) - 1)]) for t in terms} | {re.escape(w) for w in surfaces}
    alternatives = "|".join(sorted(starts, key=len, reverse=True))
    return re.compile(rf"(?i)(?<![^\W_])(?:{alternatives})[^\W_]*(?:['\u2019][^\W_]+)*(?:\+\+|#)?")


def highlight(
    source: str, terms: frozenset[str], *, whole: bool = False, surfaces: frozenset[str] = frozenset()
) -> str:
    """Escaped text with <mark> around words whose index term is in `terms`: all of it (`whole`),
    or the SNIPPET_CHARS-long window with the most matches, cut at word boundaries. `surfaces`: the
    query's words as typed (so that "C++" or "Müller" are found though their terms are not prefixes)."""
    source = " ".join(source.split())
    found: list[tuple[int, int]] = []
    if terms:
        for m in _candidates(terms, surfaces).finditer(source):
            if text.term_of(m.group()) in terms:
                found.append((m.start(), m.end()))
    lo, hi = 0, len(source)
    if not whole and len(source) > SNIPPET_CHARS:
        best, best_n = 0, -1
        for i, (a, _) in enumerate(found):
            n = sum(1 for x, _ in found[i:] if x < a + SNIPPET_CHARS)
            if n > best_n:
                best, best_n = a, n
        lo = max(0, best - 40) if found else 0
        if lo:
            lo = source.find(" ", lo) + 1 or lo
        hi = min(len(source), lo + SNIPPET_CHARS)
        if hi < len(source):
            hi = source.rfind(" ", lo, hi) if source.rfind(" ", lo, hi) > lo else hi
    return tex.excerpt_html(source, found, lo, hi)


def _canonical_id(text: str) -> str:
    try:
        return parse_arxiv_id(text).id
    except InvalidArxivId:
        return text.strip()  # stored under no other form: "no such paper"


def similar(
    papers: str | int | Sequence[str | int],
    *,
    limit: int = 10,
    category: str | Sequence[str] | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
) -> SearchResults:
    """Nearest papers to one paper or to a set (the normalised mean of their embeddings), of any
    of the categories given."""
    import numpy as np

    from paperfeed.search.keyword import Filters, day_number

    started = time.perf_counter()
    given = [papers] if isinstance(papers, str | int) else list(papers)
    limit = max(1, min(int(limit), MAX_LIMIT))
    res = SearchResults(query=" ".join(map(str, given)), mode="similar", limit=limit)
    cats = (category,) if isinstance(category, str) else tuple(category or ())
    # Any form arXiv writes an id in ("arXiv:" prefix, a version, an abs URL) names the stored paper.
    arxiv_ids = [_canonical_id(g) for g in given if isinstance(g, str)]
    pks = {int(g) for g in given if isinstance(g, int)}
    if arxiv_ids:
        pks |= set(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("pk", flat=True))
    if not pks:
        res.message = "no such paper"
        return res
    eng = engine()
    vectors = eng.vectors
    vecs = [v for pk in pks if (v := vectors.vector_of(pk)) is not None]
    if not vecs:
        from paperfeed.search.models import Embedding

        vecs = [
            Embedding.unpack(v)
            for v in Embedding.objects.filter(paper_id__in=pks).values_list("vector", flat=True)
        ]
    if vecs and vectors.size:
        centre = np.mean(vecs, axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        mask = vectors.mask(
            categories=list(cats),
            since=day_number(_as_date(since)) if _as_date(since) else None,
            until=day_number(_as_date(until)) if _as_date(until) else None,
        )
        mask &= ~np.isin(vectors.ids, list(pks))
        found = vectors.search(centre, limit + 5, mask)
        res.hits = _hits([(p, s, {"similar": r}) for r, (p, s) in enumerate(found, 1)], 0, limit, None)
        res.total = len(res.hits)
    else:
        # Not embedded yet: the words of their titles, by keyword.
        titles = " ".join(Paper.objects.filter(pk__in=pks).values_list("title", flat=True))
        kw = eng.keyword
        if kw is not None:
            found, _ = kw.search(
                parse(titles),
                Filters(cats, _as_date(since), _as_date(until)),
                limit + len(pks),
            )
            found = [(p, s) for p, s in found if p not in pks]
            res.hits = _hits([(p, s, {"keyword": r}) for r, (p, s) in enumerate(found, 1)], 0, limit, None)
            res.total = len(res.hits)
            res.message = "these papers have no embedding yet; similar by title words"
        elif not vectors.size:
            res.message, res.indexed = eng.keyword_missing, False
        else:
            res.message = "these papers have no embedding yet, and there is no keyword index to search"
    res.listed = res.total  # every paper found is listed (it read 0: "none of the 10 listed")
    res.took_ms = (time.perf_counter() - started) * 1000
    return res
