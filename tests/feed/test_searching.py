"""The database fallback's snippets (the same excerpts as the search index's, TeX kept whole), and
what the search page says of a result."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from paperfeed.feed.searching import run_search, snippet
from paperfeed.search.indexing import Indexer
from tests.search.conftest import ingest, records


def test_fallback_snippet_marks_words_outside_tex_only() -> None:
    out = snippet("Graph <b>kernels</b> with $k_{graph}$ costs for graph search.", ["graph"])
    marked = "<mark>Graph</mark> &lt;b&gt;kernels&lt;/b&gt; with $k_{graph}$ costs"
    assert out == marked + " for <mark>graph</mark> search."


def test_fallback_snippet_window_starts_near_the_first_match() -> None:
    text = "lead " * 100 + "the target word, then $x^2$ " + "tail " * 100
    out = snippet(text, ["target"], width=60)
    assert out.startswith("… ") and "<mark>target</mark>" in out and out.endswith(" …")
    assert snippet("no match here", ["absent"]) == "no match here"


@pytest.mark.django_db
def test_the_search_page_says_which_results_are_there_by_meaning_alone(search_home) -> None:  # type: ignore[no-untyped-def]
    # Hybrid search's weak nearest papers by meaning looked like matches.
    ingest(records())
    Indexer().run()
    label = "Related by meaning, no matching words"

    def cards(mode: str) -> dict[str, str]:
        html = Client().get("/search", {"q": "speculative decoding", "mode": mode}).content.decode()
        return dict(re.findall(r'<li class="card" id="p-([^"]+)">(.*?)</li>', html, re.S))

    hybrid = cards("hybrid")
    assert label in hybrid["2503.00006"]  # image segmentation, close to nothing in the query
    assert label not in hybrid["2503.00001"]  # the match
    # Semantic mode lists papers by meaning as asked: no result is flagged for it.
    assert not any(label in card for card in cards("semantic").values())


def _card(html: str, arxiv_id: str) -> str:
    return dict(re.findall(r'<li class="card" id="p-([^"]+)">(.*?)</li>', html, re.S))[arxiv_id]


def _authors(card: str) -> str:
    found = re.search(r'<p class="authors">(.*?)</p>', card, re.S)
    assert found, card
    return found[1]


@pytest.mark.django_db
def test_an_author_asked_for_is_listed_and_marked_where_the_list_would_hide_them(search_home) -> None:  # type: ignore[no-untyped-def]
    # au:NAME found papers whose list of authors showed six others and "and 6 more", the one asked
    # for among the six hidden.
    from dataclasses import replace

    from paperfeed.papers.records import AuthorName

    crowd = [AuthorName(f"Member{i}", "Pat") for i in range(1, 12)]
    crowd.insert(9, AuthorName("Hopper", "Grace"))  # the tenth of twelve
    crowd.insert(11, AuthorName("<b>Evil</b>", "Eve"))  # a name is text, never markup
    ingest([replace(r, authors=crowd) if r.arxiv_id == "2503.00004" else r for r in records()])
    Indexer().run(semantic=False)

    def line(**query: str) -> str:
        html = Client().get("/search", {"mode": "keyword", **query}).content.decode()
        return _authors(_card(html, "2503.00004"))

    firsts = ", ".join(f"Pat Member{i}" for i in range(1, 7))
    plain = line(q="sparse tensors")
    assert plain == f"{firsts} and 7 more"  # no author asked for: the list's usual line
    assert line(q="au:hopper") == f"{firsts}, …, <mark>Grace Hopper</mark> and 6 more"
    assert line(q="sparse", author="Grace Hopper") == f"{firsts}, …, <mark>Grace Hopper</mark> and 6 more"
    evil = line(q="au:evil")
    assert "<mark>Eve &lt;b&gt;Evil&lt;/b&gt;</mark>" in evil and "<b>" not in evil
    # Among the first six already: marked where it stands, nothing added.
    assert line(q="au:member3") == firsts.replace("Pat Member3", "<mark>Pat Member3</mark>") + " and 7 more"


@pytest.mark.django_db
def test_a_results_title_marks_the_words_searched_as_its_snippet_does(search_home) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.papers.models import Paper

    ingest(records())
    Paper.objects.filter(arxiv_id="2503.00005").update(
        title="Private set <i>intersection</i> with $\\mathrm{set}_k$"
    )
    Indexer().run(semantic=False)
    html = Client().get("/search", {"q": "intersection set", "mode": "keyword"}).content.decode()
    title = re.search(
        r'<h3 class="title tex"><a href="/papers/2503.00005">(.*?)</a>', _card(html, "2503.00005")
    )
    assert title, html
    # Escaped, the words marked outside TeX only (KaTeX renders a formula only when it is whole).
    assert title[1] == (
        "Private <mark>set</mark> &lt;i&gt;<mark>intersection</mark>&lt;/i&gt; with $\\mathrm{set}_k$"
    )


# A title as arXiv writes it, with TeX's typography, markup to keep inert and formulas for KaTeX.
TYPESET_TITLE = "Private set--intersection of ``secret'' <script>alert(1)</script> inputs at \\$5, $a--b$"
# The marks land on the words the page shows (an en dash, curly quotes), not on the TeX's.
TYPESET_SHOWN = (
    "Private <mark>set</mark>\u2013<mark>intersection</mark> of \u201c<mark>secret</mark>\u201d "
    '&lt;script&gt;alert(1)&lt;/script&gt; inputs at <span class="dollar">$</span>5, $a--b$'
)


def _title(html: str, arxiv_id: str) -> str:
    found = re.search(rf'<h3 class="title tex"><a href="/papers/{arxiv_id}">(.*?)</a>', _card(html, arxiv_id))
    assert found, html
    return found[1]


@pytest.mark.django_db
@pytest.mark.parametrize("indexed", [True, False], ids=["index", "database"])
def test_a_results_title_has_the_papers_typography_with_the_words_marked(search_home, indexed: bool) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from paperfeed.papers.models import Paper

    ingest([replace(r, title=TYPESET_TITLE) if r.arxiv_id == "2503.00005" else r for r in records()])
    if indexed:
        Indexer().run(semantic=False)
    html = Client().get("/search", {"q": "set intersection secret", "mode": "keyword"}).content.decode()
    assert _title(html, "2503.00005") == TYPESET_SHOWN
    assert "<script>alert" not in html
    # The page's own heading shows the same text, unmarked.
    page = Client().get("/papers/2503.00005").content.decode()
    assert Paper.objects.get(arxiv_id="2503.00005").title_html in page
    assert re.sub("</?mark>", "", TYPESET_SHOWN) + "</h1>" in page


@pytest.mark.django_db
def test_the_database_fallback_marks_titles_and_the_author_filter_too(search_home) -> None:  # type: ignore[no-untyped-def]
    # No index built (a home of its own): the database's match stands in, with the same marks.
    from dataclasses import replace

    from paperfeed.papers.records import AuthorName

    crowd = [AuthorName(f"Member{i}", "Pat") for i in range(1, 10)] + [AuthorName("Hopper", "Grace")]
    ingest([replace(r, authors=crowd) if r.arxiv_id == "2503.00004" else r for r in records()])
    html = Client().get("/search", {"q": "sparse", "author": "Hopper"}).content.decode()
    card = _card(html, "2503.00004")
    assert "A C++ library for <mark>sparse</mark> tensors</a>" in card
    assert _authors(card).endswith(", …, <mark>Grace Hopper</mark> and 3 more")


@pytest.mark.django_db
def test_the_database_match_keeps_what_the_search_said_about_the_query(search_home) -> None:  # type: ignore[no-untyped-def]
    # The index has no "iffusio" (a piece of a word); the database's word match finds "diffusion".
    # Its message replaced the search's, and what had been left out went unsaid.
    ingest(records())
    Indexer().run()
    page = run_search("iffusio ((( segmentat:iffusio", mode="keyword")
    assert [h.paper.arxiv_id for h in page.hits] == ["2503.00006"] and page.degraded
    assert "the search index has none" in page.message
    assert "left out: ((( (no letter or digit)" in page.message
    assert "unknown field segmentat: searched as words" in page.message
    html = Client().get("/search", {"q": "iffusio (((", "mode": "keyword"}).content.decode()
    assert "left out: ((( (no letter or digit)" in html and "the search index has none" in html
