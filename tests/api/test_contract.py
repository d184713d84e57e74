"""The OpenAPI document as a client developer reads it: valid OpenAPI 3.1, and every operation in it
answering as documented. Each operation is called with real requests against conftest's small site
(its success, and each error a client can provoke: the generic ones derived from the document itself,
plus the operation's own), and every answer's status, content type, documented headers and body are
checked against the document, with no undocumented key allowed in a body. An operation added
without a success case here, or a status an operation documents that no request to it produces,
fails the test: the document cannot drift from the server."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.api.schemas import API_LIMITS
from paperfeed.core.middleware import unavailable
from paperfeed.feed.models import Collection, CollectionItem, Comment
from paperfeed.moderation import services as moderation
from paperfeed.papers.models import Author, AuthorAlias
from tests.fakes.arxiv import FakeArxiv
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
JSON = "application/json; charset=utf-8"
ARXIV_ENV = {"PAPERFEED_ARXIV_DELAY": "0"}  # the fake asks for no politeness gap


@dataclass
class Call:
    status: int
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a body sent as is (text/plain), instead of `body` as JSON
    client: Client | None = None
    env: dict[str, str] = field(default_factory=dict)  # settings read at the request (PAPERFEED_ARXIV_API)

    def send(self) -> Any:
        with patch.dict(os.environ, self.env):
            return self._send()

    def _send(self) -> Any:
        c = self.client or Client()
        call = getattr(c, self.method)
        if self.raw is not None:
            return call(self.url, self.raw, content_type="text/plain", **self.headers)
        if self.body is not None:
            return call(self.url, json.dumps(self.body), content_type="application/json", **self.headers)
        return call(self.url, **self.headers)


@pytest.fixture
def doc() -> dict[str, Any]:
    return Client().get("/api/openapi.json").json()


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    """A real arXiv API on loopback that has no paper: a submission's look-up is answered, not lost."""
    fake = FakeArxiv([]).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(autouse=True)
def _no_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # A couple of hundred requests from one address; the 429s are provoked below on purpose.
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1_000_000, 300))


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def _strict(schema: Any) -> Any:
    """The schema with every object closed (`additionalProperties: false` where it lists
    properties), so a key the document does not name is a failure, not silently accepted."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def check_answer(doc: dict[str, Any], method: str, path: str, r: Any, where: str, head: bool = False) -> None:
    """One answer against what the document says about that operation and status (a HEAD's: all but
    the body it leaves out)."""
    responses = doc["paths"][path][method]["responses"]
    documented = responses.get(str(r.status_code))
    assert documented is not None, f"{where}: {r.status_code} is not documented: {r.content[:300]!r}"
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert r.has_header(name), f"{where}: {r.status_code} without its documented {name}"
        if r.has_header(name) and header["schema"]["type"] == "integer":
            assert re.fullmatch(r"\d+", r[name]), f"{where}: {name}: {r[name]!r} is not an integer"
    if r.status_code in (204, 301, 304) or head:
        assert r.content == b"", where
    if r.status_code in (204, 301, 304):
        assert not r.has_header("Content-Type"), f"{where}: {r['Content-Type']} on no body"
        return
    assert r["Content-Type"] == JSON, f"{where}: {r['Content-Type']}"
    content = documented.get("content", {}).get("application/json")
    assert content is not None, f"{where}: {r.status_code} documents no JSON body"
    if head:
        return
    schema = _strict({**content["schema"], "components": doc["components"]})
    # Formats too: a time the document calls date-time must be RFC 3339, a day YYYY-MM-DD.
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(json.loads(r.content)), key=str)
    assert not errors, f"{where}: {r.status_code} body does not match its schema: {errors[0].message[:500]}"


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def calls(doc: dict[str, Any], site: dict[str, Any], arxiv: FakeArxiv) -> dict[tuple[str, str], list[Call]]:
    papers = site["papers"]
    p = papers[0]
    comment = Comment.objects.get()  # conftest's one comment
    good = {
        "arxiv_id": p.arxiv_id,
        "code": p.primary_category_id,
        "key": p.authors[0]["key"],
        "username": "curator",
        "comment_id": str(comment.pk),
        "slug": "reading",
    }
    missing = {
        "arxiv_id": "2501.99999",
        "code": "xx.YY",
        "key": "nobody-at-all",
        "username": "nobody",
        "comment_id": "99999999",
        "slug": "nothing-here",
    }
    # A moderator's token for the moderation operations, an account to purge and a purge to undo.
    moderator = {
        "HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(make_user('mod', staff=True)).secret}"
    }
    make_user("spammer")
    earlier = moderation.purge(None, make_user("earlier"), "spam")
    purge, undo = (
        ("post", "/api/moderation/users/{name}/purge"),
        ("post", "/api/moderation/actions/{action_id}/undo"),
    )
    good |= {"name": "spammer", "action_id": str(earlier.pk)}
    missing |= {"name": "nobody", "action_id": "99999999"}
    # A key the author had before a re-key (papers.AuthorAlias): the list answers 301 to the current one.
    AuthorAlias.objects.create(key="an-old-key", author=Author.objects.get(key=good["key"]))
    auth = site["auth"]
    unverified = accounts.create_api_token(make_user("unverified", verified=False)).secret
    unv = {"HTTP_AUTHORIZATION": f"Bearer {unverified}"}
    # Nobody reports their own submission or comment (the curator's): a reader reports them.
    reader = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(make_user('reader')).secret}"}
    acting = {
        ("post", "/api/papers/{arxiv_id}/report"): reader,
        ("post", "/api/comments/{comment_id}/report"): reader,
        purge: moderator,
        undo: moderator,
    }
    browser = Client(enforce_csrf_checks=True)  # signed in by its session cookie, without the CSRF token
    browser.force_login(site["user"])
    # A public collection of the curator's with a paper in it, and a private one only its owner sees.
    reading = Collection.objects.create(user=site["user"], name="Reading", slug="reading")
    CollectionItem.objects.create(collection=reading, paper=p)
    Collection.objects.create(user=site["user"], name="Drafts", slug="drafts", public=False)
    wrong = {"HTTP_AUTHORIZATION": "Bearer pf_wrong"}
    gone = make_user("gone")
    deactivated = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(gone).secret}"}
    accounts.set_active(gone, False)
    # What a success needs besides the path: a query, a body.
    query = {
        ("get", "/api/papers/search"): "q=learning",
        ("get", "/api/categories/{code}/papers"): f"month={p.announced:%Y-%m}",
    }
    bodies = {
        ("post", "/api/papers/submit"): {"id": papers[7].arxiv_id},
        ("post", "/api/papers/{arxiv_id}/comments"): {"body": "ünïcode ✓ and $x^2$ <b>not bold</b>"},
        ("post", "/api/papers/{arxiv_id}/report"): {"reason": "spam", "text": "an <b>ad</b> ✓"},
        ("post", "/api/comments/{comment_id}/report"): {"reason": "abuse"},
        purge: {"reason": "spam"},
        undo: {"reason": "a mistake"},
    }
    # What `{}` gets where it is not a 422: a purge's missing reason is the service's 400, as a blank
    # one is; an undo's body is optional, and the purge is undone by then.
    empty = {purge: 400, undo: 409}
    # Errors only the operation's own rules give.
    own: dict[tuple[str, str], list[Call]] = {
        ("get", "/api/daily_papers"): [
            Call(400, "get", "/api/daily_papers?sort=random"),
            Call(400, "get", "/api/daily_papers?date=2025-02-30"),
        ],
        ("get", "/api/papers/search"): [
            Call(400, "get", "/api/papers/search?since=2026-01-02&until=2026-01-01"),
            Call(422, "get", "/api/papers/search?since=someday"),  # (an optional date: no "format")
        ],
        ("get", "/api/authors/{key}/papers"): [Call(301, "get", "/api/authors/an-old-key/papers?limit=5")],
        ("post", "/api/papers/submit"): [
            Call(400, "post", "/api/papers/submit", {"id": papers[6].arxiv_id, "date": "soon"}, auth),
            Call(403, "post", "/api/papers/submit", {"id": papers[6].arxiv_id}, unv),
            Call(409, "post", "/api/papers/submit", {"id": papers[1].arxiv_id}, auth),
            # Not stored, and arXiv answers it has no such paper; or arXiv cannot be reached (the
            # tests' arXiv is a closed port): asking again later may work.
            Call(404, "post", "/api/papers/submit", {"id": "2501.99999"}, auth, env=ARXIV_ENV | arxiv.env()),
            Call(503, "post", "/api/papers/submit", {"id": "2501.99998"}, auth),
        ],
        ("post", "/api/papers/{arxiv_id}/comments"): [
            Call(403, "post", f"/api/papers/{p.arxiv_id}/comments", {"body": "hello"}, unv)
        ],
        ("post", "/api/papers/{arxiv_id}/report"): [
            Call(403, "post", f"/api/papers/{p.arxiv_id}/report", {"reason": "spam"}, unv),
            # The success above is this reader's open report; a paper stored but not on the feed.
            Call(409, "post", f"/api/papers/{p.arxiv_id}/report", {"reason": "other"}, reader),
            Call(403, "post", f"/api/papers/{p.arxiv_id}/report", {"reason": "spam"}, auth),  # one's own
            Call(404, "post", f"/api/papers/{papers[5].arxiv_id}/report", {"reason": "spam"}, reader),
            Call(422, "post", f"/api/papers/{p.arxiv_id}/report", {"reason": "boring"}, reader),
        ],
        ("post", "/api/comments/{comment_id}/report"): [
            Call(403, "post", f"/api/comments/{comment.pk}/report", {"reason": "spam"}, unv),
            Call(409, "post", f"/api/comments/{comment.pk}/report", {"reason": "spam"}, reader),
            Call(403, "post", f"/api/comments/{comment.pk}/report", {"reason": "spam"}, auth),  # one's own
            Call(404, "post", "/api/comments/99999999999999999999999/report", {"reason": "spam"}, reader),
        ],
        purge: [
            # The curator is no moderator; a blank reason; the account purged already.
            Call(403, "post", "/api/moderation/users/spammer/purge", {"reason": "spam"}, auth),
            Call(400, "post", "/api/moderation/users/spammer/purge", {"reason": "  "}, moderator),
            Call(409, "post", "/api/moderation/users/SPAMMER/purge", {"reason": "again"}, moderator),
            Call(422, "post", "/api/moderation/users/spammer/purge", {"reason": 5}, moderator),
        ],
        undo: [
            Call(403, "post", f"/api/moderation/actions/{earlier.pk}/undo", {}, auth),
            # No body at all is `{}`: undone by the success above.
            Call(409, "post", f"/api/moderation/actions/{earlier.pk}/undo", None, moderator, raw=b""),
            Call(422, "post", f"/api/moderation/actions/{earlier.pk}/undo", {"reason": ["x"]}, moderator),
        ],
        # Anyone may list collections; a token is optional, and one not accepted is refused.
        ("get", "/api/users/{username}/collections"): [
            Call(200, "get", "/api/users/curator/collections", headers=auth),
            Call(401, "get", "/api/users/curator/collections", headers=wrong),
        ],
        ("get", "/api/users/{username}/collections/{slug}"): [
            Call(200, "get", "/api/users/curator/collections/drafts", headers=auth),
            Call(404, "get", "/api/users/curator/collections/drafts"),
            Call(404, "get", "/api/users/curator/collections/drafts", headers=reader),
            Call(401, "get", "/api/users/curator/collections/reading", headers=wrong),
        ],
        ("post", "/api/recommendations/{arxiv_id}/not_interested"): [
            Call(403, "post", f"/api/recommendations/{p.arxiv_id}/not_interested", client=browser)
        ],
    }
    out: dict[tuple[str, str], list[Call]] = {}
    for method, path, op in _operations(doc):
        secured = bool(op.get("security"))
        headers = acting.get((method, path), auth) if secured else {}
        url = _fill(path, good)
        if (method, path) in query:
            url = _with(url, query[(method, path)])
        body = bodies.get((method, path))
        success = next(int(s) for s in op["responses"] if s.startswith("2"))
        cs = [Call(success, method, url, body, headers)]
        if secured:
            cs += [
                Call(401, method, url, body),
                Call(401, method, url, body, {"HTTP_AUTHORIZATION": "Bearer wrong"}),
            ]
        for name in re.findall(r"\{(\w+)\}", path):
            cs.append(Call(404, method, _fill(path, {**good, name: missing[name]}), body, headers))
        for param in op.get("parameters", []):
            kind = param["schema"].get("type")
            if param["name"] == "limit":
                cs.append(Call(400, method, _with(url, "limit=0"), body, headers))
            elif param["name"] == "date" and kind == "string":  # a period (feed.periods)
                cs.append(Call(400, method, _with(url, "date=2025-02-30"), body, headers))
            elif "enum" in param["schema"]:  # none of its values: a 400 naming them
                cs.append(Call(400, method, _with(url, f"{param['name']}=bogus"), body, headers))
            elif kind == "boolean" or param["schema"].get("format") == "date":
                cs.append(Call(422, method, _with(url, f"{param['name']}=bogus"), body, headers))
        if "requestBody" in op:
            cs += [
                Call(400, method, url, None, headers, raw=b"id=2501.01234"),
                Call(413, method, url, {"body": "x" * 3 * MB, "id": "x" * 3 * MB}, headers),
                Call(empty.get((method, path), 422), method, url, {}, headers),
            ]
        cs.append(Call(400, method, _with(url, "catgory=cs.LG"), body, headers))  # no such parameter
        cs.append(Call(401, method, url, body, deactivated))  # on every operation, reads too
        cs.append(Call(405, "put", url, None, headers))
        cs += own.get((method, path), [])
        out[(method, path)] = cs
    return out


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate_openapi(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_operation_answers_as_documented(
    doc: dict[str, Any], site: dict[str, Any], arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced: dict[tuple[str, str], set[int]] = {}
    met: set[str] = set()  # the limits the answers say they counted (RateLimit-Policy)
    plan = calls(doc, site, arxiv)
    assert {(m, p) for m, p, _ in _operations(doc)} == set(plan)
    for (method, path), cs in plan.items():
        got = produced.setdefault((method, path), set())
        for c in cs:
            r = c.send()
            where = f"{c.method.upper()} {c.url[:120]} (as {method.upper()} {path})"
            assert r.status_code == c.status, (
                f"{where}: {r.status_code}, expected {c.status}: {r.content[:300]!r}"
            )
            check_answer(doc, method, path, r, where)
            got.add(r.status_code)
            met |= set(re.findall(r'"([^"]+)";q=', r.get("RateLimit-Policy", "")))
            if method == "get" and r.status_code == 200 and not c.headers:
                again = Client().get(c.url, HTTP_IF_NONE_MATCH=r["ETag"])
                assert again.status_code == 304, where
                check_answer(doc, method, path, again, f"{where} If-None-Match")
                head = Client().head(c.url)
                check_answer(doc, method, path, head, f"{where} HEAD", head=True)
                assert head["Content-Length"] == str(len(r.content)), where
                got.add(304)
    # What tests/api/test_limits.py finds in the code, seen at run time: a limit met by an answer
    # that the document's list of them (and the 429's `limit` description) lacks fails here too.
    assert met and met <= set(API_LIMITS), met - set(API_LIMITS)
    # Every address is refused once over the limit, whatever it asks for next.
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1, 300))
    for i, (method, path) in enumerate(plan):
        success = plan[(method, path)][0]
        client = Client(REMOTE_ADDR=f"10.9.{i // 200}.{i % 200 + 1}")
        client.get("/api/trending")
        c = Call(429, success.method, success.url, success.body, success.headers, client=client)
        r = c.send()
        assert r.status_code == 429, (path, r.status_code, r.content[:200])
        check_answer(doc, method, path, r, f"{method.upper()} {path} over the limit")
        produced[(method, path)].add(429)
    # Each operation documents what it answers and nothing it cannot (a GET without a body
    # documented 413, a path without parameters 422): the 503 every path has is the next test's.
    for method, path, op in _operations(doc):
        documented = {int(s) for s in op["responses"]}
        never = documented - produced[(method, path)] - {503}
        assert not never, f"{method.upper()} {path} documents {sorted(never)}, which no request produced"


def test_times_and_days_say_their_format(doc: dict[str, Any]) -> None:
    # They were plain strings in the document: a client generated from it could not tell a time
    # from any text, and check_answer's format check had nothing to check them by.
    named = 0
    for name, schema in doc["components"]["schemas"].items():
        for prop, s in schema.get("properties", {}).items():
            if not prop.endswith("At"):
                continue
            strings = [b for b in s.get("anyOf", [s]) if b.get("type") == "string"]
            want = "date" if prop == "announcedAt" else "date-time"
            assert strings and all(b.get("format") == want for b in strings), (name, prop, s)
            named += 1
    assert named >= 8  # PaperOut's, DailyPaperOut's, CommentOut's, ReportOut's


def test_the_503_of_a_database_that_is_down_is_documented(doc: dict[str, Any]) -> None:
    # What core.middleware answers under /api/ when a query raises OperationalError (the live
    # PostgreSQL-down test in test_bad_input_live.py takes the server's database away for real).
    request = RequestFactory().get("/api/daily_papers")
    r = unavailable(request, OperationalError("server closed the connection"))
    r["Content-Type"] = JSON  # as api.middleware, which stands outside it, labels every JSON answer
    for method, path, _ in _operations(doc):
        check_answer(doc, method, path, r, f"{method.upper()} {path} 503")


def test_options_lists_what_each_path_allows(doc: dict[str, Any]) -> None:
    good = {
        "arxiv_id": "2501.00001",
        "code": "cs.CL",
        "key": "anyone",
        "username": "anyone",
        "comment_id": "1",
        "name": "anyone",
        "action_id": "1",
        "slug": "reading",
    }
    for path, ops in doc["paths"].items():
        r = Client().options(_fill(path, good))
        allowed = {m.upper() for m in ops} | {"OPTIONS"} | ({"HEAD"} if "get" in ops else set())
        assert r.status_code == 204 and r.content == b"", (path, r.status_code, r.content[:200])
        assert set(r["Allow"].split(", ")) == allowed, (path, r["Allow"])


def test_the_checks_catch_a_drifted_body(doc: dict[str, Any], site: dict[str, Any]) -> None:
    """The checker itself: a key the document does not name, or one missing, fails."""
    r = Client().get(f"/api/papers/{site['papers'][0].arxiv_id}")
    check_answer(doc, "get", "/api/papers/{arxiv_id}", r, "as served")
    for change in ({"undocumented": 1}, {"upvotes": "7"}, {"publishedAt": "2026-03-02 09:30"}):
        drifted = copy.copy(r)
        drifted.content = json.dumps(r.json() | change).encode()
        with pytest.raises(AssertionError, match="does not match its schema"):
            check_answer(doc, "get", "/api/papers/{arxiv_id}", drifted, "drifted")
