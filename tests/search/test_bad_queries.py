"""RELIABILITY S7: the whole §3c FTS list, over HTTP, on the search page and the search API in every
mode, against a real index: 200 every time, never a server error."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.test import Client

from paperfeed.search.services import MODES
from tests.search.hostile import FTS_3C

# A lone surrogate cannot be UTF-8 encoded: a client sends its WTF-8 bytes, which are not UTF-8.
LONE_SURROGATE = "%ED%A0%80"


def test_the_fts_list_answers_200_on_the_page_and_the_api(indexed: dict[str, Any]) -> None:
    c = Client()
    queries = [quote(q, safe="") for q in FTS_3C] + [LONE_SURROGATE]
    for q in queries:
        for mode in MODES:
            page = c.get(f"/search?q={q}&mode={mode}")
            assert page.status_code == 200, (q[:40], mode)
            api = c.get(f"/api/papers/search?q={q}&mode={mode}")
            assert api.status_code == 200, (q[:40], mode, api.content[:200])
            assert isinstance(api.json(), list)
    # The index was there to be searched: a plain word still finds its paper.
    hits = c.get("/api/papers/search?q=speculative&mode=keyword").json()
    assert [h["paper"]["id"] for h in hits][:1] == ["2503.00001"]
