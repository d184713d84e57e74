"""/api/papers/search's headers say what the answer is: X-Search-Degraded only when the index could
not answer and the database's word match stands in for it."""

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
