"""RELIABILITY §4c and §3c bad inputs through Django's test client on a real database: oversized
and deeply nested bodies, huge parameter lists, absurd paging, a 1 MB password. Each gets a 4xx or
a clamped answer, never a 500 (the live server's share is in test_bad_input_live.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from paperfeed.accounts import hashers, throttle
from paperfeed.feed import services
from paperfeed.feed.models import Comment, Vote
from tests.sitedata import PASSWORD, load_papers, make_user

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _no_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hundreds of requests from one test-client address: the 300-per-5-min limit is L8's test.
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1_000_000, 300))
    monkeypatch.setitem(throttle.LIMITS, "comment:user", throttle.Limit(1_000_000, 300))


def list_apis(site: dict[str, Any]) -> list[str]:
    """Every GET of the JSON API that answers with a list (or a page of lists)."""
    p = site["papers"][0]
    return [
        "/api/daily_papers",
        "/api/trending",
        "/api/papers/search?q=learning",
        f"/api/categories/{p.primary_category_id}/papers?month={p.announced:%Y-%m}",
        f"/api/authors/{p.authors[0]['key']}/papers",
        f"/api/papers/{p.arxiv_id}/comments",
        "/api/users/curator",
        "/api/users/curator/upvotes",
    ]


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def test_a_10_mb_json_body_is_refused(site: dict[str, Any]) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2.5 * MB  # Django's default, kept
    p = site["papers"][0]
    big = json.dumps({"body": "x" * (10 * MB)})
    for url, extra in (
        (f"/api/papers/{p.arxiv_id}/comments", site["auth"]),
        ("/api/papers/submit", site["auth"]),
        (f"/api/papers/{p.arxiv_id}/comments", {}),  # no token: refused before the body matters
    ):
        r = Client().post(url, big, content_type="application/json", **extra)
        # 413 as the OpenAPI document says (it was Django's 400 "bad request"); 401 before the body is read.
        assert r.status_code == (413 if extra else 401), (url, r.status_code)
        if extra:
            assert r.json() == {"error": "the request body is larger than this API takes (2,621,440 bytes)"}
    assert Comment.objects.filter(paper=p).count() == 1


def test_a_body_that_is_not_json_says_so(site: dict[str, Any]) -> None:
    # ninja's own answer was "Cannot parse request body", whatever was wrong.
    p = site["papers"][0]
    url = f"/api/papers/{p.arxiv_id}/comments"
    r = Client().post(url, "body=hello", content_type="application/x-www-form-urlencoded", **site["auth"])
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith("the request body is not JSON (Expecting value: line 1 column 1")
    assert error.endswith("send a JSON object with Content-Type: application/json")
    r = Client().post(url, b"\xff\xfe", content_type="application/json", **site["auth"])
    assert r.status_code == 400 and r.json()["error"].startswith("the request body is not JSON (")


def test_4_mb_form_bodies_are_refused(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    c = Client()
    c.force_login(site["user"])
    huge = "x" * (4 * MB)
    for url, data in (
        ("/login", {"username": huge, "password": huge}),
        ("/signup", {"username": "a", "email": "a@example.org", "password": huge}),
        ("/password-reset", {"email": huge}),
        ("/subscribe", {"email": huge}),
        (f"/papers/{p.arxiv_id}/comments", {"body": huge}),
        ("/submit", {"paper": huge}),
    ):
        assert c.post(url, data).status_code == 400, url
    # As many fields (4 MB of `a=1&`): over DATA_UPLOAD_MAX_NUMBER_FIELDS, refused before parsing on.
    many = "&".join(["a=1"] * (MB)).encode()
    r = c.generic("POST", "/login", many, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400
    assert Comment.objects.filter(paper=p).count() == 1


def test_json_nested_10000_deep_is_a_400(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    for nested in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
        for url in (f"/api/papers/{p.arxiv_id}/comments", "/api/papers/submit"):
            r = Client().post(url, nested, content_type="application/json", **site["auth"])
            assert r.status_code == 400, (url, r.status_code)
            assert r.json() == {"error": "the request body is JSON nested too deeply"}


def test_10k_item_id_lists(site: dict[str, Any]) -> None:
    repeated = "&".join(f"ids={i}" for i in range(10_000))  # 10,000 fields
    one_list = "ids=" + ",".join(str(i) for i in range(10_000))
    for url in list_apis(site):
        r = Client().get(with_query(url, repeated))
        # Over DATA_UPLOAD_MAX_NUMBER_FIELDS: 400 everywhere, as every operation reads the names
        # of its query parameters (a user's page too, which takes none).
        assert r.status_code == 400, (url, r.status_code)
        assert "too many query parameters" in r.json()["error"], url
        r = Client().get(with_query(url, one_list))
        assert r.status_code == 400, (url, r.status_code)  # `ids` is no parameter of any of them
        assert r.json()["error"].startswith("unknown query parameter 'ids': it takes "), url


@pytest.mark.parametrize(
    "query",
    [
        "p=999999999",
        "p=99999999999999999999999",
        "limit=100000",
        "p=999999999&limit=100000",
    ],
)
def test_absurd_paging_is_clamped(site: dict[str, Any], query: str) -> None:
    # Too large is read as the maximum; below the range or not a number is a 400 (test_paging.py).
    for url in list_apis(site):
        r = Client().get(with_query(url, query))
        if url.endswith(
            "/users/curator"
        ):  # not paged (its lists are cut at 50 and 100): paging is unknown there
            assert r.status_code == 400 and "it takes none" in r.json()["error"], url
            continue
        assert r.status_code == 200, (url, r.status_code)
        body = r.json()
        rows = body if isinstance(body, list) else body["submissions"]
        assert len(rows) <= 100


@pytest.mark.parametrize("query", ["page=999999999", "page=-1"])
def test_page_is_not_mistaken_for_p(site: dict[str, Any], query: str) -> None:
    # Hugging Face's page parameter is `p`: `page` was ignored, and a client asking for page 5 got
    # the first one; it is a 400 naming `p` now.
    for url in list_apis(site):
        r = Client().get(with_query(url, query))
        assert r.status_code == 400, (url, r.status_code)
        said = r.json()["error"]
        takes = said.split("it takes ")[1].split(" (")[0].split(", ")
        assert "'page'" in said and ("p" in takes or takes == ["none"]), (url, said)


def test_limit_is_clamped_to_100() -> None:
    papers = load_papers(130)
    today = timezone.localdate()
    for p in papers:
        services.submit(p.arxiv_id, None, today)
    fan = make_user("fan")  # trending lists upvoted papers only; one vote each, past the vote limit
    Vote.objects.bulk_create([Vote(user=fan, paper=p) for p in papers])
    for url in (f"/api/daily_papers?date={today}", f"/api/trending?date={today}"):
        assert len(Client().get(f"{url}&limit=100000").json()) == 100, url
        assert len(Client().get(f"{url}&limit=100000&p=1").json()) == 30, url
        assert Client().get(f"{url}&limit=100000&p=999999999").json() == [], url


def test_html_pages_with_absurd_page_numbers(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    for url in (
        "/search?q=learning",
        f"/authors/{p.authors[0]['key']}",
        f"/categories/{p.primary_category_id}",
        "/papers",
        "/trending",
    ):
        # More than the last page is read as the last (as the API reads `p`); no number is a 400
        # that says so, where it used to show page 1 without a word (/trending has no pages).
        for query in ("page=999999999", "page=99999999999999999999999"):
            assert Client().get(with_query(url, query)).status_code == 200, (url, query)
        for query in ("page=-1", "page=abc"):
            r = Client().get(with_query(url, query))
            assert r.status_code == (200 if url == "/trending" else 400), (url, query)


def test_a_1_mb_password_is_refused_before_hashing(site: dict[str, Any]) -> None:
    """A long password costs the hasher time in proportion (Django's CVE-2013-1443): refuse it
    before any hash runs, in every form that takes a password."""
    huge = "p" * MB
    before = hashers.HASH_CALLS.value
    r = Client().post("/login", {"username": "curator", "password": huge})
    assert r.status_code == 200 and b"at most 4096 characters" in r.content
    r = Client().post("/signup", {"username": "longpw", "email": "longpw@example.org", "password": huge})
    assert r.status_code == 200 and not site["user"].__class__.objects.filter(username="longpw").exists()
    assert hashers.HASH_CALLS.value == before
    # The reset form: the link's own token first, then the new password.
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = site["user"]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    c = Client()
    r = c.get(f"/password-reset/{uid}/{default_token_generator.make_token(user)}", follow=True)
    form_url = r.redirect_chain[-1][0]
    before = hashers.HASH_CALLS.value
    r = c.post(form_url, {"new_password1": huge, "new_password2": huge})
    assert r.status_code == 200 and b"too long" in r.content
    assert hashers.HASH_CALLS.value == before
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
