"""The JSON API's lists cost a fixed number of queries, however many rows they hold."""

from __future__ import annotations

import pytest
from django.test import Client

from paperfeed.feed import services
from tests.sitedata import load_papers, make_user, queries_for

pytestmark = pytest.mark.django_db


def test_a_users_collections_are_counted_in_one_query_not_one_each() -> None:
    papers = load_papers(6)
    owner = make_user("owner")
    services.save_paper(owner, papers[0], "First")
    one = queries_for("/api/users/owner")
    for i in range(2, 7):
        for q in papers[:i]:
            services.save_paper(owner, q, f"List {i}")
    assert queries_for("/api/users/owner") == one
    listed = {c["name"]: c["papers"] for c in Client().get("/api/users/owner").json()["collections"]}
    assert listed == {"First": 1, **{f"List {i}": i for i in range(2, 7)}}


def test_a_users_upvotes_cost_the_same_queries_for_one_paper_or_a_page() -> None:
    papers = load_papers(8)
    reader = make_user("reader")
    services.upvote(reader, papers[0])
    one = queries_for("/api/users/reader/upvotes")
    for p in papers[1:]:
        services.upvote(reader, p)
    assert queries_for("/api/users/reader/upvotes") == one
    assert len(Client().get("/api/users/reader/upvotes").json()) == 8
