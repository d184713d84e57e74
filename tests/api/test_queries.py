"""The JSON API's lists cost a fixed number of queries, however many rows they hold."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from paperfeed.feed import services
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db


def _queries(url: str) -> int:
    c = Client()
    assert c.get(url).status_code == 200
    with CaptureQueriesContext(connection) as q:
        assert c.get(url).status_code == 200
    return len(q.captured_queries)


def test_a_users_collections_are_counted_in_one_query_not_one_each() -> None:
    papers = load_papers(6)
    owner = make_user("owner")
    services.save_paper(owner, papers[0], "First")
    one = _queries("/api/users/owner")
    for i in range(2, 7):
        for q in papers[:i]:
            services.save_paper(owner, q, f"List {i}")
    assert _queries("/api/users/owner") == one
    listed = {c["name"]: c["papers"] for c in Client().get("/api/users/owner").json()["collections"]}
    assert listed == {"First": 1, **{f"List {i}": i for i in range(2, 7)}}
