"""One count per query, whatever the page or the sort, and pages that add up to it."""

from __future__ import annotations

from typing import Any

import pytest

from paperfeed.papers.records import PaperRecord
from paperfeed.search import services
from paperfeed.search.services import search

pytestmark = pytest.mark.django_db


def all_pages(query: str, per_page: int = 20, **kw: Any) -> tuple[list[str], list[services.SearchResults]]:
    seen: list[str] = []
    answers: list[services.SearchResults] = []
    offset = 0
    while True:
        res = search(query, limit=per_page, offset=offset, **kw)
        answers.append(res)
        seen += [h.arxiv_id for h in res.hits]
        if not res.hits:
            return seen, answers
        offset += per_page


# "diffusion": 25 keyword matches and the nearest papers by meaning; "benchmarks": every paper has
# the word, more than one leg's depth.
@pytest.mark.parametrize("query", ["diffusion", "benchmarks"])
def test_the_count_is_the_same_on_every_page_and_sort_and_the_pages_add_up_to_it(
    many: list[PaperRecord], query: str
) -> None:
    seen, answers = all_pages(query)
    total = answers[0].total
    assert {(a.total, a.listed, a.summary) for a in answers} == {(total, total, f"{total} matches")}
    assert len(seen) == len(set(seen)) == total > services.LEG_DEPTH * 0.9
    assert answers[-1].message == f"the list ends at {total}"
    assert seen[:20] == [h.arxiv_id for h in search(query, limit=20).hits]  # the first page as it was
    for sort in ("date", "votes"):
        sorted_seen, sorted_answers = all_pages(query, sort=sort)
        assert {a.total for a in sorted_answers} == {total}, sort
        assert len(sorted_seen) == len(set(sorted_seen)) == sorted_answers[0].listed <= total
        assert set(sorted_seen) <= set(seen)


def test_a_sort_says_when_it_orders_fewer_than_the_matches(
    many: list[PaperRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SORT_POOL", 50)
    res = search("benchmarks", sort="date")
    assert (res.total, res.listed) == (151, 50)
    assert res.summary == "151 matches (sorted by date: the 50 most relevant)"
    both = search("diffusion benchmarks", sort="date")
    assert (
        both.listed == 25
        and both.summary
        == f"{both.total} matches (sorted by date: the 25 with every word among the 50 most relevant)"
    )
    assert [h.announced for h in both.hits] == sorted((h.announced for h in both.hits), reverse=True)


def test_semantic_mode_says_top_n_by_meaning_not_matches(many: list[PaperRecord]) -> None:
    res = search("diffusion", mode="semantic")
    assert not res.counted and res.total == services.LEG_DEPTH
    assert res.summary == f"top {services.LEG_DEPTH} by meaning"
    assert res.as_json()["summary"] == res.summary and res.as_json()["counted"] is False
    seen, _ = all_pages("diffusion", mode="semantic")
    assert len(seen) == len(set(seen)) == services.LEG_DEPTH
    # Its keyword fallback counts matches again.
    assert search("diffusion", mode="keyword").summary == "25 matches"


def test_hybrid_with_no_keyword_match_says_it_lists_only_the_nearest_by_meaning(
    many: list[PaperRecord],
) -> None:
    res = search("zzqqxxnothing")
    assert res.hits and not res.counted
    assert res.summary == f"top {res.total} by meaning"
    assert res.message == "no paper has these words; showing the nearest by meaning"
    # A word some paper has still counts matches (the nearest by meaning among them).
    assert search("diffusion").counted
