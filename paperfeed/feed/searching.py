"""The one seam between the site and search: pages, feeds and the API call `run_search`.

It calls paperfeed.search.services.search when the search app provides it; until then (or when
it fails) a plain database match on words of the title, flagged `degraded`, keeps the page useful.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.safestring import SafeString, mark_safe

from paperfeed.papers import tex
from paperfeed.papers.models import Paper
from paperfeed.search.query import MAX_QUERY_CHARS

log = logging.getLogger(__name__)
MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date", "votes")


@dataclass
class Hit:
    paper: Paper
    score: float
    snippet: SafeString
    # The title with the query's words marked, and the author line with the authors it names shown and
    # marked (author_line): escaped HTML; "" where the list's plain title and author line do.
    title_html: str = ""
    authors_html: str = ""
    # Hybrid search found it by meaning alone, weakly: the page says why it is there.
    weak_meaning: bool = False
    # Filled in by the search page (feed.views.search) for its vote buttons (feed/_paper_row.html).
    n_votes: int = 0
    voted: bool = False
    unlisted: bool = False
    closed: str = ""  # why it takes no vote (services.vote_closed)


@dataclass
class SearchPage:
    query: str
    hits: list[Hit] = field(default_factory=list)
    message: str = ""
    degraded: bool = False
    total: int | None = None
    counted: bool = True  # False: total is how many nearest papers by meaning are listed, not matches
    listed: int | None = None  # how many of them the pages list (None: unknown)
    summary: str = ""  # what the count is: "635 matches", "top 100 by meaning"
    error: str = ""  # an invalid filter or parameter: nothing was searched
    searchable: bool = True  # False: the query has nothing to search for (only stop words)
    cut: bool = False  # only the first MAX_QUERY_CHARS characters of the query were searched
    dropped: list[str] = field(default_factory=list)  # pieces of the query left out, as typed (query.parse)
    unknown_fields: list[str] = field(default_factory=list)  # "foo:" of `foo:bar`, searched as words
    suggestion: str = ""  # "did you mean": the query respelt, when that finds more (services.search)
    notes: list[str] = field(default_factory=list)  # what the message says about the query itself


def _service() -> Any:
    try:
        from paperfeed.search import services
    except ImportError:  # pragma: no cover
        return None
    return getattr(services, "search", None)


def run_search(
    query: str,
    *,
    mode: str = "hybrid",
    limit: int = 20,
    offset: int = 0,
    category: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    author: str | None = None,
    sort: str = "relevance",
) -> SearchPage:
    query = " ".join((query or "").replace("\x00", " ").split())
    page = SearchPage(query[:MAX_QUERY_CHARS], cut=len(query) > MAX_QUERY_CHARS)
    query = page.query
    if not (query or category or since or until or author):  # filters alone list what they match
        page.message = "Type a few words, an arXiv id, or ti:/au:/abs:/cat: fields."
        return page
    search, answered = _service(), False
    if search is not None:
        try:
            res = search(
                query,
                mode=mode,
                limit=limit,
                offset=offset,
                category=category or None,
                since=since,
                until=until,
                author=author or None,
                sort=sort,
            )
        except Exception:
            log.exception("search failed; falling back to the database match")
        else:
            answered = bool(getattr(res, "indexed", True))  # an index not built yet answers nothing
            ids = [h.arxiv_id for h in res.hits]
            papers = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids).for_listing()}
            page.hits = [
                Hit(
                    papers[h.arxiv_id],
                    float(h.score),
                    mark_safe(getattr(h, "snippet_html", "") or ""),  # noqa: S308  # nosec B308 B703
                    # In semantic mode every result is by meaning, as asked: nothing to flag there.
                    weak_meaning=mode == "hybrid" and bool(getattr(h, "is_weak_meaning", False)),
                    title_html=mark_safe(getattr(h, "title_html", "") or ""),  # noqa: S308  # nosec B308 B703
                    authors_html=author_line(papers[h.arxiv_id], getattr(h, "matched_authors", [])),
                )
                for h in res.hits
                if h.arxiv_id in papers
            ]
            page.message, page.degraded = (
                getattr(res, "message", "") or "",
                bool(getattr(res, "degraded", False)),
            )
            page.total = getattr(res, "total", None)
            page.counted = bool(getattr(res, "counted", True))
            page.listed = getattr(res, "listed", page.total)
            page.summary = getattr(res, "summary", "")
            page.error = getattr(res, "error", "")
            page.searchable = bool(getattr(res, "searchable", True))
            page.dropped = list(getattr(res, "parsed", {}).get("dropped", []))
            page.unknown_fields = list(dict.fromkeys(getattr(res, "parsed", {}).get("unknown_fields", [])))
            page.suggestion = getattr(res, "suggestion", None) or ""
            page.notes = list(getattr(res, "notes", []))
            # An invalid filter, or a query with nothing to search for, is answered as it is:
            # matching its text in the database would show papers the message says it did not look for.
            if page.hits or offset or page.error or not page.searchable:
                return page
            # Nothing indexed matches (or the index is not built yet): papers whose text contains
            # the words are better than an empty page, and say what they are.
    return _database_match(page, limit, offset, category, since, until, author, answered)


def _database_match(
    page: SearchPage,
    limit: int,
    offset: int,
    category: str | None,
    since: dt.date | None,
    until: dt.date | None,
    author: str | None,
    answered: bool = False,
) -> SearchPage:
    words = [w for w in re.findall(r"\w[\w+.-]*", page.query) if len(w) > 1][:8]
    # Degraded when the index could not answer, or when these matches stand in for its answer; an
    # index that answered "nothing" and a database that agrees is a plain "no matches" (the API's
    # X-Search-Degraded said "no paper matches" for every keyword search that found nothing).
    page.degraded = not answered
    if not words and not (category or since or until or author):
        page.message = "; ".join(["No searchable words in that query", *page.notes])
        return page
    qs = Paper.objects.active()
    for w in words:
        qs = qs.filter(Q(title__icontains=w) | Q(abstract__icontains=w))
    if category:
        qs = qs.in_category(category)
    if since:
        qs = qs.filter(announced__gte=since)
    if until:
        qs = qs.filter(announced__lte=until)
    if author:
        qs = qs.filter(authors_text__icontains=author)
    papers = list(qs.order_by("-announced", "-arxiv_id").for_listing()[offset : offset + limit])
    page.hits = [
        Hit(
            p,
            0.0,
            snippet(tex.prose(p.abstract), words),
            title_html=snippet(tex.prose(p.title), words, whole=True),
            authors_html=author_line(p, _containing(p, author)),
        )
        for p in papers
    ]
    if page.hits:
        page.degraded = True
        # What the search said about the query (pieces left out, unknown fields) still holds.
        page.message = "; ".join(
            ["Papers whose title or abstract contains these words (the search index has none)", *page.notes]
        )
        page.total = page.listed = len(page.hits) + offset if len(page.hits) < limit else qs.count()
        page.summary = f"{page.total} match{'' if page.total == 1 else 'es'}"
    return page


def snippet(text: str, words: list[str], width: int = 300, *, whole: bool = False) -> SafeString:
    """An escaped excerpt of `text` around the first matched word (all of it: `whole`), matches
    wrapped in <mark>."""
    flat = " ".join(text.split())
    found = [m.span() for m in _any_of(words).finditer(flat)] if words else []
    if whole:
        return mark_safe(tex.excerpt_html(flat, found))  # noqa: S308  # nosec B308 B703
    start = max(0, found[0][0] - width // 3) if found else 0
    return mark_safe(tex.excerpt_html(flat, found, start, min(len(flat), start + width)))  # noqa: S308  # nosec B308 B703


def author_line(paper: Paper, matched: Sequence[int]) -> SafeString:
    """The list's author line (Paper.author_line: the first AUTHORS_LISTED names and how many more)
    with the `matched` authors (positions) in it wherever they are, marked: an author a query asked
    for (au:NAME) was often hidden in the "and 40 more". Escaped; "" when none is matched."""
    if not matched:
        return mark_safe("")  # nosec B308 B703
    names = [a.get("name", "") for a in paper.authors]
    marked = set(matched)
    shown = sorted(set(range(min(len(names), Paper.AUTHORS_LISTED))) | {i for i in marked if i < len(names)})
    parts, last = [], -1
    for i in shown:
        if i > last + 1:
            parts.append("…")  # authors left out between
        name = html.escape(names[i])
        parts.append(f"<mark>{name}</mark>" if i in marked else name)
        last = i
    more = len(names) - len(shown)
    line = ", ".join(parts) + (f" and {more} more" if more > 0 else "")
    return mark_safe(line)  # noqa: S308  # nosec B308 B703


def _containing(paper: Paper, author: str | None) -> list[int]:
    """Positions of the paper's authors whose name contains `author` (the database match's filter)."""
    if not author:
        return []
    return [i for i, a in enumerate(paper.authors) if author.casefold() in a.get("name", "").casefold()]


def _any_of(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)), re.I)


def similar_basis(arxiv_id: str) -> str:
    """What the paper's similar papers are found from: its stored embedding ("model:text hash"), or ""
    while it has none and the words of its title stand in. Cached similar lists (and the pages showing
    them) are keyed by it, so the neighbours by meaning replace the title-word ones as soon as the
    paper is embedded, not when the cache expires."""
    from paperfeed.search.models import Embedding

    row = Embedding.objects.filter(paper__arxiv_id=arxiv_id).values_list("model", "text_hash").first()
    return f"{row[0]}:{row[1]}" if row else ""


def similar(papers: Paper | list[Paper], limit: int = 6, exclude: Sequence[Paper] = ()) -> list[Paper]:
    """The papers nearest one paper, or a set of them ("more like this collection"), those given
    and those in `exclude` left out: the recommendations app's similar_papers (the search engine's
    embeddings, or its own text features when the engine has none and this process holds them),
    where it is installed."""
    given = [papers] if isinstance(papers, Paper) else papers
    if not given:
        return []
    try:
        from paperfeed.recs.services import similar_papers
    except ImportError:  # pragma: no cover
        return []
    try:
        return similar_papers(given, limit=limit, build_window=False, exclude=exclude)
    except Exception:  # a page shows no similar papers rather than an error
        log.warning(
            "similar papers unavailable for %s", ", ".join(p.arxiv_id for p in given[:5]), exc_info=True
        )
        return []
