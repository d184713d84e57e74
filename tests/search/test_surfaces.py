"""The search page, the API and the CLI say the same thing about a search: its count (or that there
is none to give)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from paperfeed.papers.records import PaperRecord
from paperfeed.search import services

pytestmark = pytest.mark.django_db


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    call_command("search", *args, "--json")
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card">.*?href="/papers/([^"]+)"', html, re.S)


def count_line(html: str) -> str:
    found = re.search(r'<p class="muted">([^<]*)</p>\s*<ol class="cards">', html)
    return found.group(1) if found else ""


def test_every_page_and_sort_of_the_site_and_api_give_one_count_and_the_pages_add_up(
    many: list[PaperRecord],
) -> None:
    c = Client()
    seen: list[str] = []
    lines = set()
    page = 1
    while True:
        html = c.get("/search", {"q": "diffusion", "page": page}).content.decode()
        seen += cards(html)
        lines.add(count_line(html).split(" · ")[0])
        if 'rel="next"' not in html:
            break
        page += 1
    total = services.search("diffusion").total
    assert lines == {f"{total} matches"}
    assert len(seen) == len(set(seen)) == total  # the last page is reachable, and nothing repeats
    for sort in ("date", "votes"):
        html = c.get("/search", {"q": "diffusion", "sort": sort}).content.decode()
        assert count_line(html) == f"{total} matches", sort
    for params in ({"p": 0}, {"p": 5}, {"p": 2, "sort": "date"}):
        r = c.get("/api/papers/search", {"q": "diffusion", **params})
        assert r.headers["X-Total-Count"] == str(total), params
        assert r.headers["X-Search-Summary"] == f"{total} matches", params


def test_semantic_mode_says_top_n_by_meaning_everywhere(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    top = f"top {services.LEG_DEPTH} by meaning"
    html = Client().get("/search", {"q": "diffusion", "mode": "semantic"}).content.decode()
    assert count_line(html) == top and " matches" not in html
    r = Client().get("/api/papers/search", {"q": "diffusion", "mode": "semantic"})
    assert r.headers["X-Search-Summary"] == top and "X-Total-Count" not in r.headers
    out = cli(capsys, "diffusion", "--mode", "semantic")
    assert out["summary"] == top and out["counted"] is False
    call_command("search", "diffusion", "--mode", "semantic", "--limit", "2")
    assert capsys.readouterr().out.startswith(f"{top} (semantic, ")


def test_a_query_of_stop_words_says_so_and_lists_nothing(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    assert any(" and " in r.abstract for r in many)  # what a match in the database's text would find
    r = Client().get("/search", {"q": "AND"})
    html = r.content.decode()
    assert r.status_code == 200 and "only stop words" in html
    assert not cards(html) and "match" not in html.replace("No papers match", "")
    assert "the search index has none" not in html
    assert Client().get("/api/papers/search", {"q": "AND"}).json() == []
    out = cli(capsys, "AND")
    assert out["results"] == [] and "only stop words" in out["message"]
