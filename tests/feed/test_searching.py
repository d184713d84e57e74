"""The database fallback's snippets (the same excerpts as the search index's, TeX kept whole), and
what the search page says of a result."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from paperfeed.feed.searching import snippet
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
