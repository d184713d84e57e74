"""The API's conventions, each a rough edge an integrator's walk over every endpoint found: camelCase
keys everywhere (the old snake_case ones kept, deprecated, until 0.2), one compact JSON rendering, a
400 for a query parameter an operation does not take, a paper's version answered honestly, and a
submission arXiv could not be asked about told apart from one arXiv has not got (with arXiv's own
Retry-After passed on, and nothing but arXiv's failures blamed on arXiv), and every 429 and 503 in
one shape."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory

from paperfeed.accounts import throttle
from paperfeed.accounts.services import create_api_token
from paperfeed.core import ratelimit
from paperfeed.core.http import MAX_RETRY_AFTER
from paperfeed.core.middleware import unavailable
from paperfeed.core.text import about
from paperfeed.feed import services
from paperfeed.feed.models import Submission
from paperfeed.papers.models import Paper
from tests.conftest import SHARED_DATA
from tests.fakes.arxiv import FakeArxiv, kaggle_records, spread
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Figures changed, words kept (Limit.what): the 429s below name the limit as served.
    monkeypatch.setitem(throttle.LIMITS, "api:ip", replace(throttle.LIMITS["api:ip"], limit=1_000_000))


def _compact(body: bytes) -> bool:
    """Whether the body is its JSON rendered compact (no space after , or :) and in UTF-8."""
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode() == body


# --- 1. camelCase ---------------------------------------------------------------------------------


def test_every_key_in_the_document_is_camel_case_or_deprecated() -> None:
    doc = Client().get("/api/openapi.json").json()
    snake = [
        (name, prop)
        for name, schema in doc["components"]["schemas"].items()
        for prop, s in schema.get("properties", {}).items()
        if not re.fullmatch(r"[a-z][A-Za-z0-9]*", prop) and not s.get("deprecated")
    ]
    assert snake == []
    assert doc["components"]["schemas"]["NotInterestedOut"]["properties"]["not_interested"]["deprecated"]
    retry_later_out = doc["components"]["schemas"]["RetryLaterOut"]
    assert retry_later_out["properties"]["retry_after"]["deprecated"]
    assert "retryAfter" in retry_later_out["required"]
    # Every 429 and every 503 of every operation is documented in that one shape (a 429's with the
    # limit met, in words).
    rate_limited_out = doc["components"]["schemas"]["RateLimitedOut"]
    assert {"retryAfter", "limit"} <= set(rate_limited_out["required"])
    assert (
        "API requests from one address: 300 per 5 minutes"
        in rate_limited_out["properties"]["limit"]["description"]
    )
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, shape in (("429", "RateLimitedOut"), ("503", "RetryLaterOut")):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{shape}"}, (method, path, status)


def test_not_interested_says_notinterested(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    c = Client()
    r = c.post(f"/api/recommendations/{p.arxiv_id}/not_interested", **site["auth"])
    assert r.status_code == 200 and r.json() == {
        "id": p.arxiv_id,
        "notInterested": True,
        "not_interested": True,
    }
    r = c.post(f"/api/recommendations/{p.arxiv_id}/not_interested?undo=true", **site["auth"])
    assert r.json() == {"id": p.arxiv_id, "notInterested": False, "not_interested": False}


def _words(r: HttpResponse) -> str:
    """A 429's wait as its `error` says it: Retry-After's seconds in words (core.text.about)."""
    return about(int(r["Retry-After"]))


def _retry_later(r: HttpResponse, limit: str = "") -> dict[str, Any]:
    """The one shape of every 429 and 503 (core.http.retry_later): `error`, `retryAfter` the
    Retry-After header's seconds (1 s - 1 h), and `retry_after` the same until 0.2; a rate limit's
    429 `limit` too, the limit in words; nothing else."""
    assert r["Content-Type"] == "application/json; charset=utf-8" and _compact(r.content)
    body: dict[str, Any] = json.loads(r.content)
    wait = int(r["Retry-After"])
    named = {"limit": limit} if limit else {}
    assert body == {"error": body.get("error"), "retryAfter": wait, "retry_after": wait, **named}
    assert body["error"] and 1 <= wait <= 3600
    return body


def test_a_wait_is_said_as_retryafter() -> None:
    # The database down (core.middleware): the 503 body says the header's seconds as retryAfter.
    r = unavailable(RequestFactory().get("/api/daily_papers"), OperationalError("gone"))
    assert r.status_code == 503 and _retry_later(r)["error"] == "service unavailable"


@pytest.mark.usefixtures("rate_counters")  # the limiter's own refusals, counted in both stores
def test_every_429_of_the_api_says_retryafter(site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Each way a limit is met under /api/: they answered {"error"} alone, the 503s {"error", "retryAfter"}.
    p, q, auth = site["papers"][0], site["papers"][1], site["auth"]
    monkeypatch.setitem(throttle.LIMITS, "api:ip", replace(throttle.LIMITS["api:ip"], limit=1))
    c = Client(REMOTE_ADDR="10.9.0.1")
    assert c.get("/api/daily_papers").status_code == 200
    over = [
        c.get("/api/daily_papers"),  # ninja's throttle (api.views._throttled)
        c.post(f"/api/papers/{p.arxiv_id}/upvote", **auth),  # TokenAuth's count, before the token
        c.get("/api/daily_papers?dat=1"),  # an unknown parameter over the limit: the limit first
        c.get("/api/recommendations", **auth),  # a router another app mounts
    ]
    for r in over:
        assert r.status_code == 429, r.request
        limit = "API requests from one address: 1 per 5 minutes"
        assert _retry_later(r, limit)["error"] == f"too many requests ({limit}); try again in {_words(r)}"
    # A write's own per-user limit (api.views._rate_limited).
    monkeypatch.setitem(throttle.LIMITS, "api:ip", replace(throttle.LIMITS["api:ip"], limit=1_000_000))
    monkeypatch.setitem(throttle.LIMITS, "vote:user", replace(throttle.LIMITS["vote:user"], limit=1))
    assert c.post(f"/api/papers/{p.arxiv_id}/upvote", **auth).status_code == 200
    r = c.post(f"/api/papers/{q.arxiv_id}/upvote", **auth)
    assert r.status_code == 429
    body = _retry_later(r, "upvotes and their removals: 1 a minute")
    # The limit in words, as `limit` names it; the scope's name is RateLimit-Policy's alone.
    assert (
        body["error"]
        == f"too many requests (upvotes and their removals: 1 a minute); try again in {_words(r)}"
    )
    assert "vote:user" not in r.content.decode() and '"vote:user"' in r["RateLimit-Policy"]


def test_a_429_of_the_api_says_the_whole_wait_up_to_two_of_the_limits_windows(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An hourly limit's refusal can mean up to two hours: a window's hits weigh until the next one
    # ends. It was held to an hour, and a client that obeyed came back to be refused again.
    # (One submission an hour, so that the wait is past the hour wherever in its window the test runs.)
    monkeypatch.setitem(throttle.LIMITS, "submit:user", replace(throttle.LIMITS["submit:user"], limit=1))
    papers = site["papers"]
    fresh = {**site, "auth": {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(make_user('new')).secret}"}}
    assert _submit(fresh, papers[5].arxiv_id).status_code == 201
    r = _submit(fresh, papers[6].arxiv_id)
    assert r.status_code == 429
    wait = int(r["Retry-After"])
    assert 3600 < wait <= ratelimit.longest_wait(3600) == 7200
    body = json.loads(r.content)
    assert body == {
        "error": f"too many requests (paper submissions: 1 an hour); try again in {about(wait)}",
        "retryAfter": wait,
        "retry_after": wait,
        "limit": "paper submissions: 1 an hour",
    }
    # As documented: a 429's bound is two of the longest window an API request meets; a 503's is
    # the hour it never passes (it documented the 429's too).
    schemas = Client().get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["RateLimitedOut"]["properties"]["retryAfter"]["maximum"] == 7200
    assert schemas["RetryLaterOut"]["properties"]["retryAfter"]["maximum"] == MAX_RETRY_AFTER == 3600
    # The address's limit (5 minutes) is held to its own two windows, not to an hour.
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1, 300))
    c = Client(REMOTE_ADDR="10.9.0.2")
    assert c.get("/api/daily_papers").status_code == 200
    r = c.get("/api/daily_papers")
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 600
    assert json.loads(r.content)["error"].endswith(f"try again in {_words(r)}")


def test_the_sites_own_429_says_retryafter_too(site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The vote button's JSON (accounts.middleware), read by site.js: the same shape as the API's 503.
    monkeypatch.setitem(throttle.LIMITS, "vote:user", throttle.Limit(1, 60))  # no words: its figures
    c = Client()
    c.force_login(site["user"])
    url = f"/papers/{site['papers'][0].arxiv_id}/vote"
    assert c.post(url, HTTP_ACCEPT="application/json").status_code == 200
    r = c.post(url, {"action": "down"}, HTTP_ACCEPT="application/json")
    said = _retry_later(r, "1 a minute")["error"]
    assert r.status_code == 429 and said == f"too many requests (1 a minute); try again in {_words(r)}"


# --- 2. a version the database does not hold ------------------------------------------------------


@pytest.fixture
def versioned(site: dict[str, Any]) -> Paper:
    p = site["papers"][2]
    listed = [{"version": n, "date": f"2025-03-1{n}T00:00:00+00:00", "size": ""} for n in (1, 2)]
    Paper.objects.filter(pk=p.pk).update(version=2, versions=listed)
    return p


def test_a_version_not_held_is_a_404_naming_the_one_held(versioned: Paper) -> None:
    aid, c = versioned.arxiv_id, Client()
    for asked in (aid, f"{aid}v2", f"arXiv:{aid}v2"):
        r = c.get(f"/api/papers/{asked}")
        assert r.status_code == 200 and r.json()["version"] == 2, asked
    r = c.get(f"/api/papers/{aid}v9")
    assert r.status_code == 404
    assert r.json() == {
        "error": f"paperfeed has {aid} only as v2 (the latest version it has seen; arXiv listed v1, v2),"
        f" not v9: ask for {aid} without a version for v2; v9 may be on arXiv: https://arxiv.org/abs/{aid}v9"
    }
    older = c.get(f"/api/papers/{aid}v1").json()["error"]
    assert older.endswith(
        f"not v1: ask for {aid} without a version for v2; v1 is on arXiv: https://arxiv.org/abs/{aid}v1"
    )
    assert c.get(f"/api/papers/{aid}v9/citation").status_code == 404
    assert c.get(f"/api/papers/{aid}v2/citation").status_code == 200
    # The paper's comments are the paper's, whichever version the id names.
    assert c.get(f"/api/papers/{aid}v1/comments").status_code == 200


def test_a_version_nobody_knows_is_served_with_its_null(site: dict[str, Any]) -> None:
    # The shared snapshot's records carry no versions list: which version is stored is not known.
    p = site["papers"][0]
    assert p.version is None and p.versions == []
    r = Client().get(f"/api/papers/{p.arxiv_id}v3")
    assert r.status_code == 200 and r.json()["version"] is None


# --- 3. submitting while arXiv cannot be reached --------------------------------------------------


@pytest.fixture
def arxiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArxiv]:
    """A real arXiv API on loopback holding one paper paperfeed does not store."""
    fake = FakeArxiv(spread(kaggle_records(1, skip=5000), dt.date(2026, 6, 25), 1)).start()
    monkeypatch.setenv("PAPERFEED_ARXIV_DELAY", "0")
    monkeypatch.setenv("PAPERFEED_TIME_SCALE", "100")  # a retry's 3 s wait lasts 30 ms
    try:
        yield fake
    finally:
        fake.stop()


def test_arxiv_unreachable_is_a_503_and_no_such_paper_a_404(
    site: dict[str, Any], arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = next(iter(arxiv.records))
    c, before = Client(), Submission.objects.count()
    # The tests' arXiv address is a closed port: nothing answers.
    r = c.post("/api/papers/submit", {"id": aid}, content_type="application/json", **site["auth"])
    assert r.status_code == 503 and r["Retry-After"] == str(services.ARXIV_RETRY_AFTER)
    assert _retry_later(r)["error"] == (
        f"{aid} is not stored here, and arXiv could not be asked for it just now."
        " Try again in about a minute."
    )
    monkeypatch.setenv("PAPERFEED_ARXIV_API", arxiv.url + "/api/query")
    arxiv.faults.extend(["503:", "503:"])  # arXiv answering, but only its 503, both attempts
    r = c.post("/api/papers/submit", {"id": aid}, content_type="application/json", **site["auth"])
    assert r.status_code == 503 and r["Retry-After"] == str(services.ARXIV_RETRY_AFTER)
    assert Submission.objects.count() == before and not Paper.objects.filter(arxiv_id=aid).exists()
    # arXiv back: the same request is taken; and an id arXiv has not got is a 404, said so.
    r = c.post("/api/papers/submit", {"id": aid}, content_type="application/json", **site["auth"])
    assert r.status_code == 201 and r.json()["paper"]["id"] == aid
    r = c.post("/api/papers/submit", {"id": "2501.99999"}, content_type="application/json", **site["auth"])
    assert r.status_code == 404 and r.json() == {"error": "arXiv has no paper 2501.99999"}


def _submit(site: dict[str, Any], aid: str, client: Client | None = None) -> HttpResponse:
    c = client or Client()
    return c.post("/api/papers/submit", {"id": aid}, content_type="application/json", **site["auth"])  # type: ignore[no-any-return]


def test_submit_passes_arxivs_own_retry_after_on(
    site: dict[str, Any], arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = next(iter(arxiv.records))
    monkeypatch.setenv("PAPERFEED_ARXIV_API", arxiv.url + "/api/query")
    manifest = json.loads((SHARED_DATA / "arxiv_protocol/oai_pmh/paperhive_manifest.json").read_text())
    [captured] = [m for m in manifest if m["status"] == 503]  # arXiv's real 503: "Retry-After: 10"
    cases = [
        # The words as a reader plans by (core.text.about), the exact seconds in Retry-After.
        (captured["headers"]["Retry-After"], 10, "about a minute"),
        ("7", 7, "about a minute"),
        ("", 60, "about a minute"),  # no header: a minute, as before
        ("soon", 60, "about a minute"),  # garbage: no wait of arXiv's to pass on
        ("600", 600, "about 10 minutes"),
        ("7200", 3600, "about 60 minutes"),  # at most an hour
        ("0", 1, "about a minute"),  # at least a second (it read "1 seconds")
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1, "about a minute"),  # a date past
    ]
    for header, wait, words in cases:
        # Two attempts: the first 503 says nothing (a 3 s backoff), the last one's Retry-After is told.
        arxiv.faults.extend(["503:", f"503:{header}"])
        r = _submit(site, aid)
        assert r.status_code == 503 and not arxiv.faults, header
        assert _retry_later(r) == {
            "error": f"{aid} is not stored here, and arXiv could not be asked for it just now."
            f" Try again in {words}.",
            "retryAfter": wait,
            "retry_after": wait,
        }, header
    arxiv.faults.extend(["503:", "429:30"])  # its 429 asks the same way
    assert _retry_later(_submit(site, aid))["retryAfter"] == 30
    # A wait asked for before the last failure, which asked none, is not the last word.
    arxiv.faults.extend(["503:30", "status:502"])
    assert _retry_later(_submit(site, aid))["retryAfter"] == 30
    assert not Paper.objects.filter(arxiv_id=aid).exists()


def test_each_way_arxiv_fails_is_a_503(
    site: dict[str, Any], arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = next(iter(arxiv.records))
    monkeypatch.setenv("PAPERFEED_ARXIV_API", arxiv.url + "/api/query")
    failures = [
        ["status:502", "status:502"],  # a proxy's 5xx, both attempts
        ["status:404"],  # a 4xx is not asked again: it does not parse as arXiv's error feed
        ["reset", "reset"],  # the connection cut
        ["html", "html", "html"],  # a maintenance page: asked three times, never parses
        ["baddate", "baddate", "baddate"],  # XML, but an entry's date garbled (was a ValueError)
    ]
    for faults in failures:
        arxiv.faults.extend(faults)
        r = _submit(site, aid)
        assert r.status_code == 503 and not arxiv.faults, faults
        assert _retry_later(r)["retryAfter"] == services.ARXIV_RETRY_AFTER
    assert _submit(site, aid).status_code == 201  # and arXiv answering again: taken


@pytest.fixture
def papers_refused() -> None:
    """A real database error where a looked-up paper is stored: a trigger refusing new papers."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(
                "CREATE TRIGGER refuse_papers BEFORE INSERT ON papers_paper "
                "BEGIN SELECT RAISE(ABORT, 'papers refused by the test'); END"
            )
        else:
            cur.execute(
                "CREATE FUNCTION refuse_papers() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'papers refused by the test'; END $$"
            )
            cur.execute(
                "CREATE TRIGGER refuse_papers BEFORE INSERT ON papers_paper "
                "FOR EACH ROW EXECUTE FUNCTION refuse_papers()"
            )
    # The test's transaction takes the trigger away with everything else.


def test_a_database_error_is_not_blamed_on_arxiv(
    site: dict[str, Any],
    arxiv: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    papers_refused: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # arXiv answers, the paper cannot be stored: that is this site's fault, a logged 500, where it
    # was "arXiv could not be asked for it just now. Try again in a minute." and no trace in the log.
    aid = next(iter(arxiv.records))
    monkeypatch.setenv("PAPERFEED_ARXIV_API", arxiv.url + "/api/query")
    with pytest.raises(DatabaseError, match="papers refused by the test"):
        services.resolve_paper(aid)
    r = _submit(site, aid, Client(raise_request_exception=False))
    assert r.status_code == 500 and r.json() == {"error": "server error"}
    logged = [rec for rec in caplog.records if rec.name == "django.request" and rec.levelname == "ERROR"]
    assert logged and logged[-1].exc_info and isinstance(logged[-1].exc_info[1], DatabaseError)
    assert "papers refused by the test" in str(logged[-1].exc_info[1])
    assert not [rec for rec in caplog.records if "looking up" in rec.getMessage()]
    assert not Paper.objects.filter(arxiv_id=aid).exists()


# --- 4. unknown query parameters ------------------------------------------------------------------


def test_an_unknown_parameter_is_a_400_naming_the_known_ones(site: dict[str, Any]) -> None:
    c = Client()
    r = c.get("/api/papers/search?q=learning&catgory=cs.LG")
    assert r.status_code == 400
    assert r.json() == {
        "error": "unknown query parameter 'catgory': it takes author, category, limit, mode, p, q, since,"
        " sort, until (names starting with _, such as a cache buster, are ignored)"
    }
    r = c.get("/api/daily_papers?dat=2026-01-01&srot=votes")
    assert r.status_code == 400 and r.json()["error"].startswith("unknown query parameters 'dat', 'srot': ")
    p = site["papers"][0]
    assert (
        c.get(f"/api/papers/{p.arxiv_id}?full=true")
        .json()["error"]
        .startswith("unknown query parameter 'full': it takes none")
    )
    # Writes and the routers other apps mount are checked alike.
    assert c.post(f"/api/papers/{p.arxiv_id}/upvote?undo=1", **site["auth"]).status_code == 400
    assert c.get("/api/recommendations?lmit=5", **site["auth"]).status_code == 400
    # A cache buster (jQuery's `_=`, any name with a leading underscore) is let through.
    assert c.get("/api/daily_papers?_=1733011200000").status_code == 200
    assert c.get(f"/api/papers/{p.arxiv_id}?_t=1").status_code == 200


# --- 5. one JSON rendering ------------------------------------------------------------------------


def test_every_json_answer_is_compact(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    c, auth = Client(), site["auth"]
    services.add_comment(site["user"], p, "ünïcode ✓")
    answers = [
        c.get("/api/daily_papers"),  # the cached lists
        c.get("/api/trending"),
        c.get(f"/api/papers/{p.arxiv_id}"),  # ninja's
        c.get(f"/api/papers/{p.arxiv_id}/comments"),
        c.get("/api/papers/search?q=learning"),
        c.get(f"/api/users/{site['user'].username}"),
        c.get("/api/recommendations", **auth),
        c.get("/api/papers/2501.99999"),  # errors: ninja's 404, 400, 422, 401
        c.get("/api/daily_papers?limit=0"),
        c.get("/api/papers/search?since=soon"),
        c.post(f"/api/papers/{p.arxiv_id}/upvote"),
        c.put("/api/daily_papers"),  # api.middleware's 405
        c.get("/api/no/such/endpoint"),  # core.middleware's 404
        c.get("/healthz"),  # the site's JSON
        c.get("/api/openapi.json"),  # ninja's document
    ]
    for r in answers:
        assert r["Content-Type"] == "application/json; charset=utf-8", r.request
        assert _compact(r.content), (r.request["PATH_INFO"], r.content[:200])
    assert "✓" in c.get(f"/api/papers/{p.arxiv_id}/comments").content.decode()  # not \u2713


# --- 6. the version of an imported paper ----------------------------------------------------------


def test_an_imported_record_with_versions_has_its_version(site: dict[str, Any]) -> None:
    # The Kaggle snapshot's own records list their versions: the latest is the version stored (the
    # shared file's have none, test_a_version_nobody_knows_is_served_with_its_null).
    from paperfeed.papers.services import Ingestor
    from paperfeed.papers.sources.snapshot import parse_record
    from tests.papers.test_snapshot import GOOD

    with Ingestor("test") as ing:
        ing.add(parse_record(GOOD))
    r = Client().get("/api/papers/0704.0001")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["publishedAt"] == "2007-04-02T19:18:42.000Z"
