"""The JSON API: HF-compatible shapes, clamps, JSON twins of the pages, token-authenticated writes,
and the 300-per-5-minutes limit (RELIABILITY L8)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.core.text import about
from paperfeed.feed import services
from paperfeed.feed.markup import MARKUP_VERSION
from paperfeed.feed.models import Collection, CollectionItem, Comment, Vote
from tests.sitedata import PRICES, PRICES_NOW, load_papers, make_user, stale_comment

pytestmark = pytest.mark.django_db
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def site():  # type: ignore[no-untyped-def]
    papers = load_papers(8)
    curator = make_user("curator")
    today = timezone.localdate()
    for p in papers[:6]:
        services.submit(p.arxiv_id, curator, today)
    services.upvote(make_user("fan"), papers[3])
    services.add_comment(curator, papers[3], "great $x^2$")
    return papers, curator, today


def test_daily_papers_shape(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    rows = Client().get(f"/api/daily_papers?date={today}").json()
    assert len(rows) == 6
    top = next(r for r in rows if r["paper"]["id"] == papers[3].arxiv_id)
    assert top["title"] == papers[3].title and top["summary"] == papers[3].abstract
    assert top["numComments"] == 1 and top["paper"]["upvotes"] == 1
    assert top["submittedBy"]["user"] == "curator" and ISO_Z.match(top["publishedAt"])
    assert top["paper"]["authors"][0]["name"] == papers[3].authors[0]["name"]
    trending = Client().get(f"/api/daily_papers?date={today}&sort=trending").json()
    assert trending[0]["paper"]["id"] == papers[3].arxiv_id and "reason" in trending[0]["trending"]
    assert len(Client().get(f"/api/daily_papers?date={today}&limit=2&p=1").json()) == 2
    assert Client().get("/api/daily_papers?submitter=curator&limit=100000").status_code == 200
    assert Client().get("/api/daily_papers?submitter=nobody").json() == []
    assert Client().get("/api/daily_papers?p=-1&limit=-5").status_code == 400  # api.paging's rule
    assert Client().get("/api/daily_papers?p=999999999").json() == []
    assert Client().get("/api/daily_papers?date=yesterday").status_code == 400
    assert Client().get("/api/daily_papers?sort=random").status_code == 400
    week = f"{today.isocalendar()[0]}-W{today.isocalendar()[1]:02d}"
    assert len(Client().get(f"/api/daily_papers?week={week}").json()) == 6
    assert len(Client().get(f"/api/daily_papers?month={today:%Y-%m}").json()) == 6


def test_the_daily_list_is_served_from_the_cache_until_the_feed_changes(  # type: ignore[no-untyped-def]
    site, django_capture_on_commit_callbacks
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    papers, _, today = site
    url = f"/api/daily_papers?date={today}"
    first = Client().get(url)
    with CaptureQueriesContext(connection) as queries:
        again = Client().get(url)
    assert again.content == first.content and again["Content-Type"].startswith("application/json")
    assert not any("feed_submission" in q["sql"] for q in queries.captured_queries)  # no listing query
    row = next(r for r in first.json() if r["paper"]["id"] == papers[0].arxiv_id)
    assert row["thumbnail"] == "" and row["isAuthorParticipating"] is False  # the schema's defaults
    with django_capture_on_commit_callbacks(execute=True):  # the version is bumped once committed
        services.upvote(make_user("late"), papers[0])  # a vote: the next answer shows it at once
    row = next(r for r in Client().get(url).json() if r["paper"]["id"] == papers[0].arxiv_id)
    assert row["paper"]["upvotes"] == 1
    trending = Client().get(f"/api/trending?date={today}").json()
    assert trending and all("reason" in r["trending"] for r in trending)


def test_upvotes_leave_out_deactivated_accounts_until_they_are_back(  # type: ignore[no-untyped-def]
    site, django_capture_on_commit_callbacks
) -> None:
    papers, _, today = site
    p = papers[3]  # the fan's vote and the curator's comment

    def upvotes() -> tuple[int, int]:
        daily = Client().get(f"/api/daily_papers?date={today}").json()
        return Client().get(f"/api/papers/{p.arxiv_id}").json()["upvotes"], next(
            r["paper"]["upvotes"] for r in daily if r["paper"]["id"] == p.arxiv_id
        )

    fan = Vote.objects.get(paper=p).user
    assert upvotes() == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_active(fan, False)
    assert upvotes() == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_active(fan, True)
    assert upvotes() == (1, 1)


def test_a_deleted_accounts_comment_keeps_its_text_without_an_author(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, _ = site
    p = papers[3]  # the curator's comment
    accounts.delete_account(curator)
    [comment] = Client().get(f"/api/papers/{p.arxiv_id}/comments").json()
    assert comment["author"] is None and comment["body"] == "great $x^2$"
    doc = Client().get("/api/openapi.json").json()
    author = doc["components"]["schemas"]["CommentOut"]["properties"]["author"]
    assert {"type": "null"} in author["anyOf"]


def test_paper_and_search(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[3]
    r = Client().get(f"/api/papers/{p.arxiv_id}")
    data = r.json()
    assert data["id"] == p.arxiv_id and data["upvotes"] == 1 and data["numComments"] == 1
    assert data["submittedOnDailyBy"]["user"] == "curator" and ISO_Z.match(data["submittedOnDailyAt"])
    assert Client().get("/api/papers/2501.99999").status_code == 404
    assert Client().get("/api/papers/not-an-id").status_code == 404
    unknown = Client().get("/api/no/such/endpoint")  # the URL resolver's 404: JSON too, not the site's page
    assert unknown.status_code == 404 and "/api/no/such/endpoint" in unknown.json()["error"]
    assert "text/html" in Client().get("/no/such/page").headers["Content-Type"]
    word = p.title.split()[0]
    hits = Client().get(f"/api/papers/search?q={word}").json()
    assert any(h["paper"]["id"] == p.arxiv_id for h in hits)
    for q in ["", "%22hello", "NEAR(", "*", "title:secret", "%00", "'; DROP TABLE x"]:
        assert Client().get(f"/api/papers/search?q={q}").status_code == 200, q
    # Parameters out of their range are refused, not quietly read as something else.
    # A value that is none of a parameter's is a 400 naming them, as every other bad parameter's (it
    # was ninja's 422 "invalid request", the values only in its detail).
    r = Client().get(f"/api/papers/search?q={word}&mode=bogus")
    assert r.status_code == 400
    assert r.json() == {"error": "mode must be hybrid, keyword or semantic, not 'bogus'"}
    r = Client().get(f"/api/papers/search?q={word}&sort=random")
    assert r.status_code == 400 and r.json() == {
        "error": "sort must be relevance, date or votes, not 'random'"
    }
    backwards = Client().get(f"/api/papers/search?q={word}&since=2026-02-01&until=2026-01-01")
    assert backwards.status_code == 400 and "since (2026-02-01) is after until" in backwards.json()["error"]
    assert Client().get(f"/api/papers/search?q={word}&mode=keyword&sort=date").status_code == 200


def test_json_twins(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    p = papers[0]
    c = Client()
    assert c.get(f"/api/trending?date={today}").json()[0]["paper"]["id"] == papers[3].arxiv_id
    cat = c.get(f"/api/categories/{p.primary_category_id}/papers?date={p.announced}").json()
    assert p.arxiv_id in {row["id"] for row in cat}
    assert p.arxiv_id in {row["id"] for row in c.get(f"/api/authors/{p.authors[0]['key']}/papers").json()}
    u = c.get("/api/users/curator").json()
    assert len(u["submissions"]) == 6 and u["user"]["user"] == "curator"
    for page, twin in [
        (f"/papers?date={today}", f"/api/daily_papers?date={today}"),
        ("/trending", "/api/trending?week="),
    ]:
        assert f'href="{twin}'.encode() in c.get(page).content


def test_a_users_upvotes_are_paged_as_on_their_page(site) -> None:  # type: ignore[no-untyped-def]
    # The user page pages every upvote (30 a page); its twin had only the ids of the last 100.
    papers, _, _ = site
    reader = make_user("reader")
    for p in papers[:5]:
        services.upvote(reader, p)
    # An upvote from before one put a paper on no list on today's: listed, as on the page.
    Vote.objects.create(user=reader, paper=papers[7])
    cast = [papers[7], *papers[:5]]  # in this order, a minute apart, the last one the newest
    start = timezone.now() - dt.timedelta(hours=1)
    for i, p in enumerate(cast):
        Vote.objects.filter(user=reader, paper=p).update(created_at=start + dt.timedelta(minutes=i))
    newest_first = [p.arxiv_id for p in reversed(cast)]
    c = Client()
    everything = c.get("/api/users/reader/upvotes").json()
    assert [row["id"] for row in everything] == newest_first
    assert everything[0]["upvotes"] == 1 and everything[0]["submittedOnDailyBy"]["user"] == "curator"
    assert everything[-1]["submittedOnDailyAt"] is None  # the paper on no list
    assert c.get("/api/users/reader").json()["upvoted"] == newest_first
    # A page at a time, linked to the next as every list of the API is.
    pages, url = [], "/api/users/reader/upvotes?limit=4"
    while url:
        r = c.get(url)
        assert r.status_code == 200
        pages.append([row["id"] for row in r.json()])
        nxt = re.search(r'<https://papers\.example\.org([^>]*)>; rel="next"', r.get("Link", ""))
        url = nxt.group(1) if nxt else ""
    assert pages == [newest_first[:4], newest_first[4:]]
    assert [row["id"] for row in c.get("/api/users/READER/upvotes?p=1&limit=2").json()] == newest_first[2:4]
    # The same order as the page's own list.
    html = c.get("/users/reader").content.decode()
    assert sorted(newest_first, key=lambda a: html.index(f"/papers/{a}")) == newest_first
    assert c.get("/api/users/fan/upvotes").json()[0]["id"] == papers[3].arxiv_id
    assert c.get("/api/users/curator/upvotes").json() == []
    r = c.get("/api/users/nobody/upvotes")
    assert r.status_code == 404 and r.json() == {"error": "paperfeed has no user 'nobody'"}
    assert c.get("/api/users/reader/upvotes?page=2").status_code == 400  # the API's page is p


def test_collections_public_to_all_and_private_to_their_owners_token(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    owner = make_user("owner")
    token = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(owner).secret}"}
    other = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(make_user('other')).secret}"}
    reading = Collection.objects.create(user=owner, name="Reading <list>", slug="reading")
    start = timezone.now() - dt.timedelta(hours=1)
    for i, p in enumerate(papers[:5]):  # saved a minute apart, the last one the newest
        CollectionItem.objects.create(collection=reading, paper=p, added_at=start + dt.timedelta(minutes=i))
    drafts = Collection.objects.create(user=owner, name="Drafts", slug="drafts", public=False)
    CollectionItem.objects.create(collection=drafts, paper=papers[7])
    c = Client()
    public = [{"name": "Reading <list>", "slug": "reading", "public": True, "papers": 5}]
    assert c.get("/api/users/owner/collections").json() == public
    assert c.get("/api/users/OWNER/collections", **other).json() == public  # another's token: no more
    assert c.get("/api/users/owner/collections", **token).json() == [
        {"name": "Drafts", "slug": "drafts", "public": False, "papers": 1},
        *public,
    ]
    # Its papers as every list of the API has them, the last saved first, paged and linked.
    newest_first = [p.arxiv_id for p in reversed(papers[:5])]
    rows = c.get("/api/users/owner/collections/reading").json()
    assert [r["id"] for r in rows] == newest_first
    assert rows[-1] == {
        k: v for k, v in c.get(f"/api/papers/{papers[0].arxiv_id}").json().items() if k in rows[-1]
    }
    r = c.get("/api/users/owner/collections/reading?limit=2&p=1")
    assert [x["id"] for x in r.json()] == newest_first[2:4] and 'rel="next"' in r["Link"]
    # The private one: there for its owner's token, for anyone else as if it did not exist.
    assert [x["id"] for x in c.get("/api/users/owner/collections/drafts", **token).json()] == [
        papers[7].arxiv_id
    ]
    for headers in ({}, other):
        r = c.get("/api/users/owner/collections/drafts", **headers)
        assert r.status_code == 404, headers
        assert r.json() == {"error": "paperfeed has no collection 'drafts' of 'owner' that you can see"}
    # A token not accepted is refused, not answered as to anyone (which would hide that it was revoked).
    r = c.get("/api/users/owner/collections", HTTP_AUTHORIZATION="Bearer pf_revoked")
    assert r.status_code == 401 and "invalid_token" in r["WWW-Authenticate"]
    assert c.get("/api/users/nobody/collections").status_code == 404
    # A deactivated account is gone, as on the site: every address of its lists a 404 (public ones
    # too) to anyone; its own token is refused (a 401, saying why: the next test); reactivated, all
    # is back.
    owner.is_active = False
    owner.save()
    mine = ["", "/upvotes", "/collections", "/collections/reading", "/collections/drafts"]
    for tail in mine:
        for headers in ({}, other):
            assert c.get(f"/api/users/owner{tail}", **headers).status_code == 404, (tail, headers)
        assert c.get(f"/api/users/owner{tail}", **token).status_code == 401, tail
    assert c.post(f"/api/papers/{papers[0].arxiv_id}/upvote", **token).status_code == 401
    owner.is_active = True
    owner.save()
    assert all(c.get(f"/api/users/owner{tail}", **token).status_code == 200 for tail in mine)


def test_a_token_not_accepted_is_a_401_on_every_operation(site) -> None:  # type: ignore[no-untyped-def]
    """A bearer token that signs in no one is refused alike everywhere: revoked or never made, the
    reads anyone may call ignored it and answered as to anyone (a client never learnt its token had
    stopped working); a deactivated account's says why, where the reads that look a user up answered
    the owner's own token 404 (its lists are gone). No token, or another scheme's credentials (Basic,
    from a proxy's password prompt), is no refusal: those reads answer as to anyone."""
    papers, _, _ = site
    owner = make_user("owner")
    Collection.objects.create(user=owner, name="Drafts", slug="drafts", public=False)
    token = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(owner).secret}"}
    revoked = accounts.create_api_token(owner)
    settings_page = Client()
    settings_page.force_login(owner)
    settings_page.post(
        "/settings", {"action": "revoke-token", "token": revoked.token.pk}
    )  # as its owner does
    assert accounts.user_for_token(revoked.secret) is None
    accounts.set_active(owner, False)
    not_accepted = "the token was not accepted (revoked or mistyped): make a new one on /settings"
    refused = {
        f"Bearer {revoked.secret}": not_accepted,
        "Bearer pf_" + "x" * 43: not_accepted,  # never made
        "Bearer": not_accepted,  # an empty one
        token["HTTP_AUTHORIZATION"]: "this token's account is deactivated: its tokens are refused until a"
        " site administrator reactivates it",
    }
    values = {"username": "owner", "slug": "drafts", "id": papers[0].arxiv_id}
    operations = [
        (method, re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "1"), path))
        for path, ops in Client().get("/api/openapi.json").json()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 20 and ("get", "/api/recommendations") in operations
    # An address of its own for each kind of credential, so that none of them meets the address's limit.
    for i, (header, message) in enumerate(refused.items()):
        c = Client(REMOTE_ADDR=f"10.8.0.{i + 1}")
        for method, url in operations:
            r = getattr(c, method)(url, HTTP_AUTHORIZATION=header)
            assert r.status_code == 401, (method, url, header, r.content)
            assert r.json() == {"error": message}, (method, url, header)
            assert r["WWW-Authenticate"] == 'Bearer realm="paperfeed", error="invalid_token"'
    anonymous, basic = Client(REMOTE_ADDR="10.8.1.1"), Client(REMOTE_ADDR="10.8.1.2")
    # huggingface_hub sends a reader's saved Hub token to any endpoint it is pointed at.
    hub = Client(REMOTE_ADDR="10.8.1.3", HTTP_AUTHORIZATION="Bearer hf_" + "y" * 34)
    for method, url in operations:
        r = getattr(anonymous, method)(url)
        needs_token = r.status_code == 401
        assert needs_token == (method != "get" or url == "/api/recommendations"), (method, url, r.content)
        if needs_token:  # asked for, not called refused (RFC 6750 §3.1)
            assert r["WWW-Authenticate"] == 'Bearer realm="paperfeed"', (method, url)
        as_basic = getattr(basic, method)(url, HTTP_AUTHORIZATION="Basic b3duZXI6c2VjcmV0")
        assert (as_basic.status_code, as_basic.get("WWW-Authenticate")) == (
            r.status_code,
            r.get("WWW-Authenticate"),
        ), (method, url)
        as_hub = getattr(hub, method)(url)
        if needs_token:  # refused, saying whose it is not
            assert as_hub.status_code == 401, (method, url, as_hub.content)
            assert as_hub.json() == {
                "error": "this is not a paperfeed API token (ours begin with pf_): make one on /settings"
            }
            assert as_hub["WWW-Authenticate"] == 'Bearer realm="paperfeed", error="invalid_token"'
        else:  # answered as to anyone
            assert (as_hub.status_code, as_hub.content) == (r.status_code, r.content), (method, url)
    c = Client()
    # An unknown query parameter is still named first (the 400, then the 401).
    assert c.get("/api/daily_papers?catgory=cs.LG", **token).status_code == 400
    accounts.set_active(owner, True)  # the same token works again; the revoked one does not
    assert c.get("/api/users/owner/collections", **token).json()[0]["slug"] == "drafts"
    assert c.get(f"/api/papers/{papers[0].arxiv_id}", **token).status_code == 200
    bad = {"HTTP_AUTHORIZATION": f"Bearer {revoked.secret}"}
    assert c.get(f"/api/papers/{papers[0].arxiv_id}", **bad).status_code == 401
    # The feeds' addresses are no API: their token is in the path, an unknown one a 404 whatever the
    # Authorization header says, a known one read as ever.
    saved = services.save_search(owner, "learning")
    assert c.get(f"/search/saved/{saved.token}/feed.rss", **bad).status_code == 200
    for gone in ("/for-you/nope/feed.rss", "/search/saved/nope/feed.rss", "/search/saved/nope/feed.atom"):
        assert c.get(gone, **bad).status_code == 404, gone


def test_writes_need_a_token(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    p = papers[6]
    user = make_user("scripter")
    token = accounts.create_api_token(user).secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    c = Client()
    r = c.post("/api/papers/submit", {"id": p.arxiv_id}, content_type="application/json", **auth)
    assert r.status_code == 201 and r.json()["paper"]["id"] == p.arxiv_id
    r = c.post("/api/papers/submit", {"id": p.arxiv_id}, content_type="application/json", **auth)
    assert r.status_code == 409
    assert c.post(f"/api/papers/{p.arxiv_id}/upvote").status_code == 401
    assert c.post(f"/api/papers/{p.arxiv_id}/upvote", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    r = c.post(f"/api/papers/{p.arxiv_id}/upvote", **auth)
    assert r.json() == {"id": p.arxiv_id, "upvotes": 1, "voted": True}
    assert c.delete(f"/api/papers/{p.arxiv_id}/upvote", **auth).json()["upvotes"] == 0
    r = c.post("/api/papers/submit", {"id": "junk"}, content_type="application/json", **auth)
    assert r.status_code == 400 and "not an arXiv identifier" in r.json()["error"]
    r = c.post(
        f"/api/papers/{p.arxiv_id}/comments",
        {"body": "<script>x</script> $y$"},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201 and "&lt;script&gt;" in r.json()["html"]
    assert c.get(f"/api/papers/{p.arxiv_id}/comments").json()[0]["body"].startswith("<script>")
    assert Vote.objects.filter(paper=p).count() == 0
    unverified = accounts.create_api_token(make_user("unv", verified=False)).secret
    r = c.post(
        "/api/papers/submit",
        {"id": papers[7].arxiv_id},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {unverified}",
    )
    assert r.status_code == 403
    r = c.post(  # the same refusal for a comment: 403, not a bad request
        f"/api/papers/{p.arxiv_id}/comments",
        {"body": "hello"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {unverified}",
    )
    assert r.status_code == 403 and "Verify your email" in r.json()["error"]
    r = c.post(
        "/api/papers/submit",
        {"id": papers[7].arxiv_id, "date": str(today - dt.timedelta(days=30))},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 400


def test_api_rate_limit(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(20, 300))
    c = Client(REMOTE_ADDR="10.7.0.1")
    codes = [c.get("/api/daily_papers").status_code for _ in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429
    r = c.get("/api/daily_papers")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    # Which limit, and when to come back (ninja's own body said only "Too many requests.").
    wait = about(int(r["Retry-After"]))
    assert r.json()["error"] == f"too many requests (20 per 5 minutes); try again in {wait}"
    assert Client(REMOTE_ADDR="10.7.0.2").get("/api/daily_papers").status_code == 200


def test_openapi_document() -> None:
    doc = Client().get("/api/openapi.json").json()
    for path in ["/api/daily_papers", "/api/papers/{arxiv_id}", "/api/papers/search", "/api/papers/submit"]:
        assert path in doc["paths"], path


def test_a_paper_reads_the_same_in_every_list(site) -> None:  # type: ignore[no-untyped-def]
    """Its daily-list submission included: search, category and author lists gave
    submittedOnDailyAt/By null for a paper the detail and the daily list showed as submitted."""
    papers, _, today = site
    p = papers[3]
    detail = Client().get(f"/api/papers/{p.arxiv_id}").json()
    assert detail["submittedOnDailyBy"]["user"] == "curator"
    lists = {
        "daily": [r["paper"] for r in Client().get(f"/api/daily_papers?date={today}").json()],
        "search": [r["paper"] for r in Client().get(f"/api/papers/search?q={p.title.split()[0]}").json()],
        "category": Client().get(f"/api/categories/{p.primary_category_id}/papers?date={p.announced}").json(),
        "author": Client().get(f"/api/authors/{p.authors[0]['key']}/papers").json(),
    }
    for name, rows in lists.items():
        row = next((r for r in rows if r["id"] == p.arxiv_id), None)
        assert row == detail, (name, row and {k: (row[k], detail[k]) for k in row if row[k] != detail[k]})


def test_a_404_names_what_is_missing(site) -> None:  # type: ignore[no-untyped-def]
    for url, said in (
        ("/api/papers/2501.99999", "paperfeed has no paper 2501.99999"),
        ("/api/papers/2501.99999/comments", "paperfeed has no paper 2501.99999"),
        ("/api/categories/xx.YY/papers", "paperfeed has no category 'xx.YY'"),
        ("/api/authors/nobody-at-all/papers", "paperfeed has no author 'nobody-at-all'"),
        ("/api/users/nobody", "paperfeed has no user 'nobody'"),
    ):
        r = Client().get(url)
        assert r.status_code == 404 and r.json() == {"error": said}, (url, r.content)
    token = accounts.create_api_token(make_user("reader")).secret
    r = Client().post("/api/recommendations/2501.99999/not_interested", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 404 and r.json()["error"] == "paperfeed has no paper 2501.99999"


def _documented(doc: dict, path: str, method: str, status: int) -> dict:  # type: ignore[type-arg]
    """The schema the OpenAPI document gives an operation's answer, with the components its $refs need."""
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def test_every_error_has_the_documented_shape(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`{"error": "…"}`, and `detail` only on a 422, where it lists the problems: never a key that
    says nothing (a `"detail": null` came with the errors an endpoint returned itself), and the
    OpenAPI document says just that for each status."""
    import jsonschema_rs

    papers, _, _ = site
    token = accounts.create_api_token(make_user("writer")).secret
    unverified = accounts.create_api_token(make_user("unverified", verified=False)).secret
    auth, unv = f"Bearer {token}", f"Bearer {unverified}"
    submit = "/api/papers/submit"
    cases = [  # (method, url, body, Authorization, status, the operation's path in the document)
        ("get", "/api/daily_papers?limit=0", None, None, 400, "/api/daily_papers"),
        ("post", submit, {"id": papers[7].arxiv_id, "date": "soon"}, auth, 400, submit),
        ("post", submit, {"id": papers[7].arxiv_id}, None, 401, submit),
        ("post", submit, {"id": papers[7].arxiv_id}, "Bearer wrong", 401, submit),
        ("post", submit, {"id": papers[7].arxiv_id}, unv, 403, submit),
        ("get", "/api/papers/2501.99999", None, None, 404, "/api/papers/{arxiv_id}"),
        ("put", "/api/daily_papers", None, None, 405, "/api/daily_papers"),
        ("post", submit, {"id": papers[0].arxiv_id}, auth, 409, submit),
        ("get", "/api/papers/search?since=someday", None, None, 422, "/api/papers/search"),
        ("post", submit, {"date": "2026-01-01"}, auth, 422, submit),
    ]
    doc = Client().get("/api/openapi.json").json()
    for method, url, body, authorization, status, path in cases:
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        call = getattr(Client(), method)
        r = call(url, body, content_type="application/json", **headers) if body else call(url, **headers)
        assert r.status_code == status, (url, r.content)
        got = r.json()
        assert set(got) == ({"error", "detail"} if status == 422 else {"error"}), (status, got)
        assert got["error"] and (status != 422 or got["detail"]), (status, got)
        schema = _documented(doc, path, "get" if method == "put" else method, status)
        jsonschema_rs.validate(schema, got)
        component = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert set(component["required"]) == set(got), (status, component)
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(1, 300))
    c = Client(REMOTE_ADDR="10.7.0.9")
    c.get("/api/daily_papers")
    r = c.get("/api/daily_papers")
    # A 429 is a 503's shape (core.http.retry_later): when to come back, in the body too, and the
    # limit met in words.
    assert r.status_code == 429 and set(r.json()) == {"error", "retryAfter", "retry_after", "limit"}
    jsonschema_rs.validate(_documented(doc, "/api/daily_papers", "get", 429), r.json())


def test_a_stale_comment_comes_rendered_by_the_current_rules_and_is_stored_so(site) -> None:  # type: ignore[no-untyped-def]
    p = site[0][1]
    c = stale_comment(p, author=None)  # a deleted account's, rendered by the rules before
    [got] = Client().get(f"/api/papers/{p.arxiv_id}/comments").json()
    assert (got["id"], got["body"], got["html"], got["author"]) == (c.pk, PRICES, PRICES_NOW, None)
    assert Comment.objects.filter(pk=c.pk).values_list("html", "markup_version").get() == (
        PRICES_NOW,
        MARKUP_VERSION,
    )
