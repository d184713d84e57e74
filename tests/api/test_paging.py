"""api.paging: one rule for `p` and `limit` on every JSON list. Out of range below or not a number is
a 400 naming the parameter and its range; above the maximum is clamped (RELIABILITY §4c)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts import throttle
from paperfeed.feed.models import Comment
from tests.api.test_bad_input import list_apis, with_query

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1_000_000, 300))


def paged_apis(site: dict[str, Any]) -> list[str]:
    """Every list that takes `limit` (all but a user's page, which has none), and the signed-in
    recommendations."""
    return [u for u in list_apis(site) if not u.endswith("/users/curator")] + ["/api/recommendations"]


@pytest.mark.parametrize(
    ("query", "name", "shown"),
    [
        ("limit=0", "limit", "'0'"),
        ("limit=-1", "limit", "'-1'"),
        ("limit=abc", "limit", "'abc'"),
        ("limit=1.5", "limit", "'1.5'"),
        ("limit=", "limit", "''"),
        ("p=-1", "p", "'-1'"),
        ("p=abc", "p", "'abc'"),
        ("p=1e3", "p", "'1e3'"),
        # pydantic's lax int read each of these as a number (+ is %2B: a bare + is a space).
        ("limit=%2B5", "limit", "'+5'"),
        ("limit=%205", "limit", "' 5'"),
        ("limit=5%20", "limit", "'5 '"),
        ("limit=5.0", "limit", "'5.0'"),
        ("limit=5_0", "limit", "'5_0'"),
        ("limit=1e2", "limit", "'1e2'"),
        ("limit=%D9%A5", "limit", "'\u0665'"),  # Arabic-Indic five
        ("limit=%EF%BC%95", "limit", "'\uff15'"),  # fullwidth five
        ("p=%2B1", "p", "'+1'"),
        ("p=-0", "p", "'-0'"),
        ("p=1.0", "p", "'1.0'"),
    ],
)
def test_a_page_or_limit_that_is_no_such_number_is_a_400(
    site: dict[str, Any], query: str, name: str, shown: str
) -> None:
    for url in paged_apis(site):
        r = Client().get(with_query(url, query), **site["auth"])
        assert r.status_code == 400, (url, r.status_code, r.content[:200])
        error = r.json()["error"]
        want = "from 1 to 100" if name == "limit" else "from 0 to 1000"
        assert error.startswith(f"{name} ") and want in error and error.endswith(f"not {shown}"), (url, error)


def test_the_range_is_in_the_openapi_document() -> None:
    doc = Client().get("/api/openapi.json").json()
    for path in (
        "/api/daily_papers",
        "/api/trending",
        "/api/papers/search",
        "/api/categories/{code}/papers",
        "/api/papers/{arxiv_id}/comments",
    ):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert params["limit"]["schema"]["minimum"] == 1 and params["p"]["schema"]["minimum"] == 0, path
        assert "more is read as 100" in params["limit"]["description"], path
    recs = {p["name"]: p for p in doc["paths"]["/api/recommendations"]["get"]["parameters"]}
    assert recs["limit"]["schema"]["minimum"] == 1


def test_the_first_page_and_the_largest_limit_are_valid(site: dict[str, Any]) -> None:
    for url in paged_apis(site)[:-1]:  # recommendations: its clamp is recs' own test
        for query in (
            "p=0&limit=1",
            "limit=100",
            "limit=100000",
            "p=1000",
            "p=99999999999999999999999",
            "limit=05",  # plain digits, a leading zero included
            f"limit={'9' * 5000}",  # past what int() reads from a string: still plain digits, clamped
        ):
            r = Client().get(with_query(url, query))
            assert r.status_code == 200 and len(r.json()) <= 100, (url, query)
    assert len(Client().get("/api/daily_papers?limit=1").json()) == 1
    assert len(Client().get("/api/daily_papers?limit=100000").json()) == 5
    assert len(Client().get("/api/daily_papers?limit=03").json()) == 3


def test_a_papers_comments_come_in_pages_past_the_500_it_was_cut_at(site: dict[str, Any]) -> None:
    p, curator = site["papers"][1], site["user"]
    start = timezone.now() - dt.timedelta(days=1)
    Comment.objects.bulk_create(
        Comment(
            paper=p,
            author=curator,
            body=f"c{i}",
            html=f"<p>c{i}</p>",
            created_at=start + dt.timedelta(seconds=i),
        )
        for i in range(501)
    )
    url = f"/api/papers/{p.arxiv_id}/comments"
    assert [c["body"] for c in Client().get(url).json()] == [f"c{i}" for i in range(50)]  # 50 a page
    pages = [Client().get(f"{url}?limit=100&p={n}").json() for n in range(6)]
    assert [len(page) for page in pages] == [100, 100, 100, 100, 100, 1]
    assert [c["body"] for page in pages for c in page] == [f"c{i}" for i in range(501)]  # oldest first
    assert len(Client().get(f"{url}?limit=100000").json()) == 100
    assert Client().get(f"/api/papers/{p.arxiv_id}").json()["numComments"] == 501  # how many pages


def _links(r: Any) -> dict[str, str]:
    """`Link: <url>; rel="next", …` as {rel: url}."""
    found = re.findall(r'<([^>]*)>; rel="(\w+)"', r.get("Link", ""))
    return {rel: url for url, rel in found}


def test_pages_link_to_the_pages_beside_them(site: dict[str, Any]) -> None:
    """Following `next` from the first page reads the whole list once, in order, and `prev` leads
    back; every paged list gives the links (none before the first page, or after one not full)."""
    whole = [e["paper"]["id"] for e in Client().get("/api/daily_papers?limit=100&sort=votes").json()]
    assert len(whole) == 5
    url, seen, pages = "/api/daily_papers?sort=votes&limit=2&_=kept", [], []
    while url:
        r = Client().get(url, HTTP_HOST="127.0.0.1:8000")  # as a proxy in front passes it on
        pages.append(r)
        seen += [e["paper"]["id"] for e in r.json()]
        url = _links(r).get("next", "")
        # The public address (PAPERFEED_BASE_URL), as the feeds link: it was the request's host,
        # which behind a proxy is an internal one the client cannot reach.
        assert url.startswith("https://papers.example.org/api/daily_papers?") or not url
    assert seen == whole and len(pages) == 3
    assert "prev" not in _links(pages[0]) and "next" not in _links(pages[-1])
    back = _links(pages[-1])["prev"]
    assert parse_qs(urlsplit(back).query) == {
        "sort": ["votes"],
        "limit": ["2"],
        "_": ["kept"],
        "p": ["1"],
    }
    assert [e["paper"]["id"] for e in Client().get(back).json()] == whole[2:4]
    # A page over the maximum links back from the page it was read as; a full page links on.
    clamped = _links(Client().get("/api/daily_papers?limit=100000&p=5000"))
    assert parse_qs(urlsplit(clamped["prev"]).query) == {"limit": ["100"], "p": ["999"]}
    for u in paged_apis(site):
        r = Client().get(with_query(u, "limit=1"), **site["auth"])
        assert r.status_code == 200, u
        assert ("next" in _links(r)) == (len(r.json()) == 1) and "prev" not in _links(r), (u, r.get("Link"))
        r = Client().get(with_query(u, "limit=1&p=1"), **site["auth"])
        assert parse_qs(urlsplit(_links(r)["prev"]).query)["p"] == ["0"], u


def test_a_link_to_a_path_outside_ascii_is_a_valid_uri(site: dict[str, Any]) -> None:
    # The path comes decoded (a key in another script, `%` itself): written back percent-encoded.
    from paperfeed.papers.models import Author, Authorship

    author = Author.objects.create(key="张伟%", name="张伟")
    for i, p in enumerate(site["papers"][:2]):
        Authorship.objects.create(paper=p, author=author, position=90 + i)
    r = Client().get("/api/authors/%E5%BC%A0%E4%BC%9F%25/papers?limit=1")
    assert r.status_code == 200 and len(r.json()) == 1
    nxt = _links(r)["next"]
    assert nxt == "https://papers.example.org/api/authors/%E5%BC%A0%E4%BC%9F%25/papers?limit=1&p=1"
    assert [x["id"] for x in Client().get(nxt).json()] != [x["id"] for x in r.json()]
