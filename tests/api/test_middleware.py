"""api.middleware: the HTTP semantics every /api/ answer shares (HEAD, a JSON 405 with Allow, charset,
no shared caching of a signed-in caller's answer, ETag and 304, the RateLimit headers), and the 401's
WWW-Authenticate."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from paperfeed.accounts import throttle
from paperfeed.feed import services
from tests.fakes import clock as fake_clock
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db


def test_a_method_not_allowed_is_json_and_names_the_allowed_ones(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    for method, url, allowed in (
        ("post", "/api/daily_papers", "GET, HEAD, OPTIONS"),
        ("put", f"/api/papers/{p.arxiv_id}/upvote", "DELETE, OPTIONS, POST"),
        ("delete", "/api/papers/submit", "OPTIONS, POST"),
    ):
        r = getattr(Client(), method)(url, **site["auth"])
        assert r.status_code == 405, (method, url)
        assert r["Content-Type"] == "application/json; charset=utf-8" and r["Allow"] == allowed
        assert r.json()["error"] == f"{method.upper()} is not allowed on {url}; allowed: {allowed}"


def test_options_answers_with_the_allowed_methods(site: dict[str, Any]) -> None:
    # It was a 405 whose Allow did not list OPTIONS: RFC 9110 §9.3.7 wants the path's methods.
    p = site["papers"][0]
    for url, allowed in (
        ("/api/daily_papers", "GET, HEAD, OPTIONS"),
        (f"/api/papers/{p.arxiv_id}/upvote", "DELETE, OPTIONS, POST"),
        ("/api/papers/submit", "OPTIONS, POST"),
    ):
        r = Client().options(url)
        assert r.status_code == 204 and r.content == b"" and r["Allow"] == allowed, url
        # No body, so nothing to label: it said text/html, Django's default for a response.
        assert not r.has_header("Content-Type"), (url, r["Content-Type"])
    assert Client().options("/api/no/such/endpoint").status_code == 404


def test_head_answers_as_get_without_a_body(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    for url in ("/api/daily_papers", f"/api/papers/{p.arxiv_id}", "/api/papers/search?q=learning"):
        get, head = Client().get(url), Client().head(url)
        assert head.status_code == 200 and head.content == b"", url
        assert head["Content-Length"] == str(len(get.content)) and head["ETag"] == get["ETag"], url
        assert head["Content-Type"] == get["Content-Type"], url


def test_every_json_answer_names_its_charset(site: dict[str, Any]) -> None:
    for url in ("/api/no/such/endpoint", "/api/openapi.json", "/api/daily_papers?date=2025-02-30"):
        assert Client().get(url)["Content-Type"] == "application/json; charset=utf-8", url


def test_a_401_says_how_to_authenticate(site: dict[str, Any]) -> None:
    url = f"/api/papers/{site['papers'][0].arxiv_id}/upvote"
    r = Client().post(url)
    assert r.status_code == 401 and r["WWW-Authenticate"] == 'Bearer realm="paperfeed"'
    assert "Authorization: Bearer <token>" in r.json()["error"]
    r = Client().post(url, HTTP_AUTHORIZATION="Bearer pf_revoked")
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == 'Bearer realm="paperfeed", error="invalid_token"'
    assert "not accepted" in r.json()["error"]
    assert Client().get("/api/recommendations")["WWW-Authenticate"].startswith("Bearer")


def test_a_session_without_its_csrf_token_is_told_what_to_send(site: dict[str, Any]) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(site["user"])
    r = c.post(f"/api/recommendations/{site['papers'][0].arxiv_id}/not_interested")
    assert r.status_code == 403
    assert r.json()["error"].startswith("a request signed in by the session cookie must carry the CSRF token")


def test_a_token_after_more_than_one_space_is_read(site: dict[str, Any]) -> None:
    # RFC 7235: `Bearer 1*SP token`; ninja kept the extra spaces as part of the token, a 401.
    token = site["auth"]["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    for header in (f"Bearer  {token}", f"bearer {token}", f"Bearer {token} "):
        assert Client().get("/api/recommendations", HTTP_AUTHORIZATION=header).status_code == 200, header


def test_a_signed_in_callers_answer_is_never_stored_by_a_shared_cache(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    c = Client()
    for r in (
        c.get("/api/recommendations", **site["auth"]),
        c.post(f"/api/papers/{p.arxiv_id}/upvote", **site["auth"]),
        c.get("/api/daily_papers", **site["auth"]),  # public, but asked for with a token
    ):
        assert r.status_code == 200
        assert "private" in r["Cache-Control"] and "no-store" in r["Cache-Control"]
        assert "Authorization" in r["Vary"]
    # The anonymous read carries its caller's RateLimit count, so no shared cache may give it to
    # another client (whose count it is not); the caller's own cache keeps it and revalidates it.
    anon = Client().get("/api/daily_papers")
    assert "RateLimit" in anon and anon["Cache-Control"] == "private, no-cache" and "ETag" in anon
    assert "Cache-Control" not in Client().get("/api/openapi.json")  # counted by no limit: cacheable
    assert "Cache-Control" not in Client().get("/papers/feed.rss")  # nor are the site's feeds limited


def test_a_public_read_answers_304_until_it_changes(
    site: dict[str, Any], django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    p = site["papers"][0]
    for url in ("/api/daily_papers", f"/api/papers/{p.arxiv_id}"):
        first = Client().get(url)
        tag = first["ETag"]
        again = Client().get(url, HTTP_IF_NONE_MATCH=tag)
        assert again.status_code == 304 and again.content == b"" and again["ETag"] == tag, url
        assert Client().get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200, url
    tag = Client().get("/api/daily_papers")["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        services.upvote(make_user("fan"), p)
    changed = Client().get("/api/daily_papers", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag


def _fields(value: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy value (a Structured Field list of strings with integer
    parameters) as {policy: {parameter: value}}; anything else in it fails the test."""
    out = {}
    for member in value.split(", "):
        m = re.fullmatch(r'"([a-z:-]+)"((?:;[a-z]+=\d+)+)', member)
        assert m, value
        out[m[1]] = {k: int(v) for k, v in re.findall(r";([a-z]+)=(\d+)", m[2])}
    return out


def test_ratelimit_headers_count_down_and_reset(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """draft-ietf-httpapi-ratelimit-headers from the limiter's own counts: one fewer left at each
    request, none on the 429, the seconds to the reset falling as time passes, and the whole quota
    back once the windows holding the requests are over."""
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(3, 300))
    now = fake_clock.freeze(monkeypatch, [1_800_000_000.0 + 60])  # 60 s into a 300 s window
    c = Client(REMOTE_ADDR="10.8.0.1")
    left = []
    for _ in range(3):
        r = c.get("/api/daily_papers")
        assert r.status_code == 200
        assert _fields(r["RateLimit-Policy"]) == {"api:ip": {"q": 3, "w": 300}}
        left.append(_fields(r["RateLimit"])["api:ip"])
    # Each hit weighs until the next window is over: 240 s of this one and 300 of the next.
    assert left == [{"r": 2, "t": 540}, {"r": 1, "t": 540}, {"r": 0, "t": 540}]
    now[0] += 100
    r = c.get("/api/daily_papers")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert _fields(r["RateLimit"]) == {"api:ip": {"r": 0, "t": 440}}
    assert _fields(r["RateLimit-Policy"]) == {"api:ip": {"q": 3, "w": 300}}
    # A 304 was counted too, and says so; another address has its own count.
    other = Client(REMOTE_ADDR="10.8.0.2")
    etag = other.get("/api/trending")["ETag"]
    again = other.get("/api/trending", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and _fields(again["RateLimit"])["api:ip"]["r"] == 1
    now[0] += 440  # both windows over, at the start of the next: the whole quota is back
    r = c.get("/api/daily_papers")
    assert r.status_code == 200 and _fields(r["RateLimit"]) == {"api:ip": {"r": 2, "t": 600}}


def test_a_write_names_its_own_limit_beside_the_address(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(throttle.LIMITS, "vote:user", throttle.Limit(2, 60))
    p = site["papers"][0]
    c = Client(REMOTE_ADDR="10.8.1.1")
    seen = []
    for method in ("post", "delete", "post"):
        r = getattr(c, method)(f"/api/papers/{p.arxiv_id}/upvote", **site["auth"])
        seen.append((r.status_code, _fields(r["RateLimit"])))
    policy = _fields(r["RateLimit-Policy"])
    assert policy == {"api:ip": {"q": 300, "w": 300}, "vote:user": {"q": 2, "w": 60}}
    assert [(status, f["vote:user"]["r"], f["api:ip"]["r"]) for status, f in seen] == [
        (200, 1, 299),
        (200, 0, 298),
        (429, 0, 297),  # the address's limit counted it; the vote limit refused it
    ]
    assert seen[2][1]["vote:user"]["t"] >= 1
    # A read meets only the address's limit.
    assert set(_fields(c.get("/api/trending")["RateLimit"])) == {"api:ip"}


def test_refused_tokens_are_counted_and_limited_like_any_request(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ninja authenticates before it throttles: a guessed token's 401 was never counted, so tokens
    could be tried at full speed. Each is counted now, and the limit answers 429 before the look-up;
    a valid token's request is counted once, as before."""
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(3, 300))
    p = site["papers"][0]
    c = Client(REMOTE_ADDR="10.8.2.1")
    url = f"/api/papers/{p.arxiv_id}/upvote"
    seen = []
    for guess in ("pf_guess1", "pf_guess2"):
        r = c.post(url, HTTP_AUTHORIZATION=f"Bearer {guess}")
        seen.append((r.status_code, _fields(r["RateLimit"])["api:ip"]["r"]))
    r = c.post(url, **site["auth"])  # the right token: one more, not two
    seen.append((r.status_code, _fields(r["RateLimit"])["api:ip"]["r"]))
    assert seen == [(401, 2), (401, 1), (200, 0)]
    for headers in ({"HTTP_AUTHORIZATION": "Bearer pf_guess3"}, {}, site["auth"]):
        r = c.post(url, **headers)
        assert r.status_code == 429 and int(r["Retry-After"]) >= 1, headers
        assert r.json()["error"].startswith("too many requests (3 per 5 minutes); try again in ")
    # The session's way in, /api/recommendations, tries the token first: counted there too.
    other = Client(REMOTE_ADDR="10.8.2.2")
    for n in (2, 1, 0):
        r = other.get("/api/recommendations", HTTP_AUTHORIZATION="Bearer pf_guess")
        assert r.status_code == 401 and _fields(r["RateLimit"])["api:ip"]["r"] == n
    assert other.get("/api/recommendations").status_code == 429


def test_no_ratelimit_headers_outside_the_api(site: dict[str, Any]) -> None:
    assert not Client().get("/papers").has_header("RateLimit")
