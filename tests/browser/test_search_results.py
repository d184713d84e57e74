"""A search result's marks in the browser: the title's among its KaTeX, the author asked for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from paperfeed.papers.records import AuthorName
from paperfeed.search import services as search
from paperfeed.search.indexing import Indexer
from tests.search.conftest import ingest, records

# Rendering, scripts and styles in the browser: the page's HTML is tests/feed/test_searching.py's to
# prove on both databases, so this runs on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]


def test_a_result_shows_its_marked_title_words_with_rendered_math_and_the_author_asked_for(
    live_server: Any, new_page: Any, settings: Any, tmp_path: Path
) -> None:
    settings.HOME = tmp_path
    search.use_engine(None)
    crowd = [AuthorName(f"Member{i}", "Pat") for i in range(1, 12)] + [AuthorName("Hopper", "Grace")]
    ingest(
        [
            replace(r, title="Sparse $\\mathbb{R}^n$ tensors: a <b>C++</b> library", authors=crowd)
            if r.arxiv_id == "2503.00004"
            else r
            for r in records()
        ]
    )
    Indexer().run(semantic=False)
    try:
        page, watch = new_page(1280, 900)
        page.goto(f"{live_server.url}/search?q=sparse+au:hopper&mode=keyword")
        page.wait_for_load_state("networkidle")  # KaTeX has rendered
        title = page.locator("#p-2503\\.00004 .title")
        assert title.locator("mark").all_inner_texts() == ["Sparse"]
        assert title.locator(".katex").count() == 1  # the formula beside the mark rendered whole
        assert "<b>C++</b>" in title.inner_text()  # markup in a title is text
        authors = page.locator("#p-2503\\.00004 .authors")
        marked = authors.locator("mark")
        assert marked.all_inner_texts() == ["Grace Hopper"] and marked.is_visible()
        assert authors.inner_text().endswith("Grace Hopper and 5 more")
        assert watch.errors == [] and watch.dialogs == []
    finally:
        search.use_engine(None)
