"""/api/papers/search: a query that is an arXiv id finds that paper, and the headers say what the
answer is (X-Search-Degraded only when the index could not answer and the database's word match
stands in for it)."""

from __future__ import annotations

import pytest
from django.test import Client

from paperfeed.accounts import throttle
from paperfeed.search.indexing import Indexer
from tests.feed.conftest import search_home  # noqa: F401  # the fixture, used below
from tests.sitedata import load_papers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_home")]


@pytest.fixture(autouse=True)
def _no_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1_000_000, 300))


def test_a_search_that_finds_nothing_is_not_called_degraded() -> None:
    load_papers(10)
    Indexer().run(semantic=False)
    r = Client().get("/api/papers/search?q=zzqqxxnothinglikeit&mode=keyword")
    assert r.status_code == 200 and r.json() == []
    # It said "X-Search-Degraded: no paper matches": a client would think the service was failing.
    assert "X-Search-Degraded" not in r, r["X-Search-Degraded"]
    assert r["X-Search-Summary"] == "0 matches"
    found = Client().get("/api/papers/search?q=learning&mode=keyword")
    assert found.json() and "X-Search-Degraded" not in found


def test_before_the_index_is_built_the_word_match_says_it_is_degraded() -> None:
    load_papers(10)
    r = Client().get("/api/papers/search?q=learning&mode=keyword")
    assert r.json() and "search index" in r["X-Search-Degraded"], dict(r.items())
    nothing = Client().get("/api/papers/search?q=zzqqxxnothinglikeit&mode=keyword")
    assert nothing.json() == [] and "not built" in nothing["X-Search-Degraded"]


def test_a_query_that_is_an_arxiv_id_finds_that_paper() -> None:
    # The search page takes a pasted id to the paper; the API answered [] ("0 matches").
    papers = load_papers(10)
    Indexer().run(semantic=False)
    p = papers[3]
    for q in (p.arxiv_id, f"arXiv:{p.arxiv_id}v2", f" https://arxiv.org/abs/{p.arxiv_id} "):
        for mode in ("keyword", "hybrid"):
            r = Client().get("/api/papers/search", {"q": q, "mode": mode})
            assert [e["paper"]["id"] for e in r.json()] == [p.arxiv_id], (q, mode)
            assert (r["X-Search-Summary"], r["X-Total-Count"]) == ("1 match", "1")
    assert r.json()[0]["paper"] == Client().get(f"/api/papers/{p.arxiv_id}").json()
    assert Client().get("/api/papers/search", {"q": p.arxiv_id, "p": "1"}).json() == []
    # An id paperfeed has not stored is searched as words, as before.
    assert Client().get("/api/papers/search", {"q": "2501.99999", "mode": "keyword"}).json() == []
