"""Pages through Django's client: lists, the paper page, voting rules (RELIABILITY S5), headers,
feeds and the cache that must never outlive a change."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from defusedxml import ElementTree as ET
from django.test import Client
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed import periods, services
from paperfeed.feed.models import Comment, SavedSearch, Vote
from paperfeed.papers.models import Paper
from tests.sitedata import PASSWORD, PRICES_NOW, PRICES_THEN, load_papers, make_user, stale_comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():  # type: ignore[no-untyped-def]
    papers = load_papers(12)
    curator = make_user("curator")
    today = timezone.localdate()
    for p in papers[:10]:
        services.submit(p.arxiv_id, curator, today)
    services.submit(papers[10].arxiv_id, curator, today - dt.timedelta(days=3))
    return papers, curator, today


def test_pages_answer(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, today = site
    c = Client()
    p = papers[0]
    week = f"{today.isocalendar()[0]}-W{today.isocalendar()[1]:02d}"
    for url in [
        "/",
        "/papers",
        f"/papers?date={today}",
        f"/papers?week={week}",
        f"/papers?month={today:%Y-%m}",
        "/papers?sort=trending",
        "/trending",
        f"/trending?month={today:%Y-%m}",
        f"/papers/{p.arxiv_id}",
        f"/papers/{p.arxiv_id}.md",
        f"/authors/{p.authors[0]['key']}",
        "/categories",
        f"/categories/{p.primary_category_id}",
        f"/users/{curator.username}",
        "/search?q=vision",
        "/search?q=%22hello",
        "/search?q=",
        "/search?q=title:secret&mode=keyword&sort=votes&page=99999",
        "/login",
        "/signup",
        "/password-reset",
        "/api/docs",
    ]:
        r = c.get(url)
        assert r.status_code == 200, url
    r = c.get(f"/papers?date={today}")
    assert r.content.count(b'class="card"') == 10
    assert b'action="/subscribe"' in r.content and b"Get trending papers in your email inbox" in r.content
    assert f"?date={today - dt.timedelta(days=3)}".encode() in r.content  # previous skips empty days
    for bad in ["/papers/9999.99999", "/authors/nobody-here"]:
        assert c.get(bad).status_code == 404, bad


def test_a_versioned_address_says_which_version_the_page_shows(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[0]
    p.version = 3
    p.save()
    c = Client()
    unversioned = papers[1]  # the snapshot does not say which version it describes
    r = c.get(f"/papers/{unversioned.arxiv_id}v9", follow=True)
    assert "This page shows the paper as stored here; v9 is at" in r.content.decode()
    for asked, said in [
        (
            9,
            f"You asked for v9; the newest version here is v3. arXiv may have a newer one: "
            f'<a href="https://arxiv.org/abs/{p.arxiv_id}v9"',
        ),
        (1, f'This page shows v3, the latest; v1 is at <a href="https://arxiv.org/abs/{p.arxiv_id}v1"'),
    ]:
        r = c.get(f"/papers/{p.arxiv_id}v{asked}", follow=True)
        assert r.redirect_chain == [(f"/papers/{p.arxiv_id}", 302)] and said in r.content.decode()
    r = c.get(f"/papers/{p.arxiv_id}v3", follow=True)
    assert r.redirect_chain and 'class="msg' not in r.content.decode()


def test_a_bad_period_is_a_400_that_says_why(site) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    for url, reason in [
        ("/papers?date=2025-13-40", "not a valid date: &#x27;2025-13-40&#x27;"),
        ("/trending?week=nope", "week must look like 2025-W09, not &#x27;nope&#x27;"),
        ("/papers/feed.rss?month=<b>", "month must look like 2025-02, not &#x27;&lt;b&gt;&#x27;"),
    ]:
        r = c.get(url)
        assert r.status_code == 400 and reason in r.content.decode(), url
    r = c.get("/api/daily_papers?date=abc")
    assert r.status_code == 400 and "abc" in r.json()["error"]


def test_two_periods_at_once_are_a_400_naming_both(site) -> None:  # type: ignore[no-untyped-def]
    """?date= with ?week= read the date and dropped the week without a word; pages, feeds and the
    API share periods.parse, so all of them refuse it alike."""
    papers, _, today = site
    week = f"{today.isocalendar()[0]}-W{today.isocalendar()[1]:02d}"
    c = Client()
    for url in (f"/papers?date={today}&week={week}", f"/trending?week={week}&date={today}"):
        r = c.get(url)
        assert r.status_code == 400, url
        assert "name one period: date and week were given together" in r.content.decode(), url
    r = c.get(f"/papers/feed.rss?date={today}&month={today:%Y-%m}")
    assert r.status_code == 400 and "date and month were given together" in r.content.decode()
    for url in (
        f"/api/daily_papers?date={today}&week={week}",
        f"/api/trending?week={week}&month={today:%Y-%m}",
        f"/api/categories/{papers[0].primary_category_id}/papers?date={today}&month={today:%Y-%m}&week={week}",
    ):
        r = c.get(url)
        assert r.status_code == 400, url
        assert "name one period:" in r.json()["error"], url
    # An empty value still means "not given", as it does alone.
    assert c.get(f"/papers?date=&week={week}").status_code == 200


def test_arrows_skip_empty_periods_and_stop_at_the_first(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, today = site
    services.submit(papers[11].arxiv_id, curator, today - dt.timedelta(weeks=5))
    c = Client()
    this_week = c.get(f"/papers?{periods.week_of(today).query()}").content.decode()
    three_days_ago = (today - dt.timedelta(days=3)).isocalendar()
    five_weeks_ago_date = today - dt.timedelta(weeks=5)
    five_weeks_ago = five_weeks_ago_date.isocalendar()
    expect = f"?week={five_weeks_ago[0]}-W{five_weeks_ago[1]:02d}"
    if three_days_ago[1] != today.isocalendar()[1]:  # the 3-day-old submission is last week's
        expect = f"?week={three_days_ago[0]}-W{three_days_ago[1]:02d}"
    assert f'href="{expect}" rel="prev"' in this_week  # not the empty weeks in between
    earliest = c.get(f"/papers?week={five_weeks_ago[0]}-W{five_weeks_ago[1]:02d}").content.decode()
    assert 'rel="prev"' not in earliest and 'rel="next"' in earliest  # nothing before the first
    assert 'rel="prev"' not in c.get(f"/papers?month={five_weeks_ago_date:%Y-%m}").content.decode()


def _arrows(html: str) -> dict[str, str]:
    """The period arrows of a page: {"prev": "?week=…", "next": …}, the ones it has."""
    return {
        rel: href.replace("&amp;", "&") for href, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', html)
    }


def test_trending_arrows_skip_periods_with_nothing_trending_and_stop_at_the_first() -> None:
    """Trending lists upvoted papers only: a week whose submissions have no votes would be a
    "Nothing is trending" page, so its arrows go over it."""
    papers = load_papers(5)
    curator, voter = make_user("curator"), make_user("voter")
    this_week = periods.week_of(timezone.localdate())
    week = {n: this_week.shifted(-n) for n in (1, 3, 5, 7, 9)}
    for paper, n in zip(papers, (1, 3, 5, 7, 9), strict=True):
        services.submit(paper.arxiv_id, curator, week[n].first + dt.timedelta(days=2))
    for paper in (papers[1], papers[3]):  # weeks 3 and 7 ago trend; 1, 5 and 9 ago list unvoted papers
        services.upvote(voter, paper)
    c = Client()

    def arrows(query: str) -> dict[str, str]:
        return _arrows(c.get(f"/trending?{query}").content.decode())

    assert _arrows(c.get("/trending").content.decode()) == {"prev": f"?{week[3].query()}"}
    assert arrows(week[3].query()) == {"prev": f"?{week[7].query()}", "next": f"?{this_week.query()}"}
    assert arrows(week[7].query()) == {"next": f"?{week[3].query()}"}  # the first: no way further back
    assert arrows(week[9].query()) == {"next": f"?{week[7].query()}"}
    assert arrows(week[5].query()) == {"prev": f"?{week[7].query()}", "next": f"?{week[3].query()}"}
    # Walking back from the default page lands on a trending paper every time, then stops.
    visited, html = [], c.get("/trending").content.decode()
    while "prev" in _arrows(html):
        html = c.get("/trending" + _arrows(html)["prev"]).content.decode()
        assert "Nothing is trending" not in html
        label = re.search(r"Week (\d+) of", html)
        assert label is not None
        visited.append(label[1])
    assert visited == [week[3].value[-2:], week[7].value[-2:]]
    # Days skip the same way; the daily list still stops on every day with a submission.
    day3 = periods.day(week[3].first + dt.timedelta(days=2))
    day7 = periods.day(week[7].first + dt.timedelta(days=2))
    today = periods.day(timezone.localdate())
    assert arrows(day3.query()) == {"prev": f"?{day7.query()}", "next": f"?{today.query()}"}
    daily = _arrows(c.get(f"/papers?{day3.query()}").content.decode())
    assert daily["prev"] == f"?{periods.day(week[5].first + dt.timedelta(days=2)).query()}"


def test_paper_page_content(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, _ = site
    p = papers[0]
    services.add_comment(curator, p, "See $E=mc^2$ <script>alert(1)</script>")
    r = Client().get(f"/papers/{p.arxiv_id}")
    body = r.content.decode()
    assert p.abs_url in body and p.pdf_url in body
    assert f"/authors/{p.authors[0]['key']}" in body
    assert '<span class="math">E=mc^2</span>' in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    from paperfeed.papers.models import Paper

    Paper.objects.filter(pk=p.pk).update(
        comments='Code: https://github.com/a/b. <img src=x onerror="alert(1)"> javascript:alert(1)'
    )
    fresh = Client()  # signed in: past the anonymous page cache, which this direct update skips
    fresh.force_login(curator)
    body = fresh.get(f"/papers/{p.arxiv_id}").content.decode()
    assert '<a href="https://github.com/a/b" rel="nofollow">https://github.com/a/b</a>.' in body
    assert "<img src=x" not in body and 'href="javascript' not in body


def test_a_papers_abstract_shows_its_tex_outside_formulas_as_text_and_its_formulas_for_katex() -> None:
    # KaTeX's auto-render renders formulas only: \textbf{…}, \% and \href{…}{…} showed raw.
    [p] = load_papers(
        1,
        abstract=r"We propose \textbf{Fast<script>alert(1)</script>}, 40\% faster on $\mathbb{R}^n$;"
        "\n code at \\href{https://github.com/a/b}{GitHub}, \\$5 a run of \\ours.",
    )
    body = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    abstract = body[body.index('<div class="abstract tex">') :]
    abstract = abstract[: abstract.index("</div>")]
    assert "We propose Fast&lt;script&gt;alert(1)&lt;/script&gt;, 40% faster on $\\mathbb{R}^n$;" in abstract
    assert (
        'code at GitHub (<a href="https://github.com/a/b" rel="nofollow">https://github.com/a/b</a>),'
        ' <span class="dollar">$</span>5 a run of ours.' in abstract
    )  # the dollar apart from the formula's: auto-render pairs the "$" of one run of text only
    assert "\\textbf" not in abstract and "\\%" not in abstract and "<script>" not in abstract


def test_security_headers() -> None:
    r = Client().get("/")
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"


def test_a_vote_without_javascript_after_the_session_ended_logs_in_and_comes_back(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[0]
    make_user("voter", password=PASSWORD)
    c = Client()
    back = f"/?day=2025-01-02#p-{p.arxiv_id}"
    login = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up", "next": back}, follow=True)
    assert login.redirect_chain[-1][0].startswith("/login?next=")
    form = login.content.decode()
    assert f'<input type="hidden" name="next" value="/?day=2025-01-02#p-{p.arxiv_id}">' in form
    r = c.post("/login", {"username": "voter", "password": PASSWORD, "next": back})
    assert r.status_code == 302 and r["Location"] == back  # where the button is, to press again
    assert not Vote.objects.exists()  # the vote was not cast behind the reader's back


def test_voting_rules(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[0]
    url = f"/papers/{p.arxiv_id}/vote"
    # Not logged in (a session ended since the page was shown), no JavaScript: to the log-in page,
    # which sends the reader back to the page voted from, or to the paper's.
    r = Client().post(url, {"action": "up", "next": f"/?day=2025-01-02#p-{p.arxiv_id}"})
    assert r.status_code == 302
    assert r["Location"] == f"/login?next=%2F%3Fday%3D2025-01-02%23p-{quote(p.arxiv_id, safe='')}"
    assert Client().post(url)["Location"] == f"/login?next=%2Fpapers%2F{quote(p.arxiv_id, safe='')}"
    assert (
        Client().post(url, {"next": "https://evil.example/"})["Location"].startswith("/login?next=%2Fpapers")
    )
    r = Client().post(url, HTTP_ACCEPT="application/json")
    assert r.status_code == 401 and r.json() == {"error": "log in to vote"}
    assert not Vote.objects.exists()
    voter = make_user("voter")
    c = Client()
    c.force_login(voter)
    assert c.get(url).status_code == 405
    assert c.post("/papers/2501.99999/vote").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(voter)
    assert strict.post(url).status_code == 403  # no CSRF token
    r = c.post(url, {"action": "up"}, HTTP_ACCEPT="application/json")
    assert r.json() == {"id": p.arxiv_id, "upvotes": 1, "voted": True}
    assert c.post(url, {"action": "up", "next": "https://evil.example/"}).status_code == 302
    assert Vote.objects.filter(paper=p).count() == 1
    r = c.post(url, {"action": "down"}, HTTP_ACCEPT="application/json")
    assert r.json()["upvotes"] == 0


def test_vote_flood_gets_429(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    c = Client()
    c.force_login(make_user("flood"))
    codes = [
        c.post(f"/papers/{papers[i % 10].arxiv_id}/vote", {"action": "up" if i % 2 else "down"}).status_code
        for i in range(31)
    ]
    assert codes[:30] == [302] * 30 and codes[30] == 429


def test_anonymous_cache_follows_votes(site, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    anon = Client()
    url = f"/papers?date={today}"
    assert b'<span class="count">1</span>' not in anon.get(url).content
    with django_capture_on_commit_callbacks(execute=True):  # the version bump runs after commit
        services.upvote(make_user("cachebuster"), papers[5])
    body = anon.get(url).content.decode()
    assert body.index(papers[5].arxiv_id) < body.index(papers[0].arxiv_id)  # now first
    assert '<span class="count">1</span>' in body


def test_a_deactivated_accounts_votes_leave_the_pages_counts_until_it_is_back(  # type: ignore[no-untyped-def]
    site, django_capture_on_commit_callbacks
) -> None:
    """Deactivated from the command line (`paperfeed users deactivate`, no moderation log to bump
    the cache): the cached daily page and the paper page drop its votes at
    once, and reactivating brings them back (the rows stay)."""
    from paperfeed.accounts import services as accounts

    papers, _, today = site
    away, stays = make_user("away"), make_user("stays")
    with django_capture_on_commit_callbacks(execute=True):
        services.upvote(away, papers[5])
        services.upvote(stays, papers[5])
        services.upvote(stays, papers[6])
    anon, reader = Client(), Client()
    reader.force_login(stays)  # past the page cache, rendered afresh

    def count_after(html: str, marker: str) -> int:
        return int(html[html.index(marker) :].split('<span class="count">')[1].split("<")[0])

    def shown() -> tuple[int, int, int]:
        """papers[5] and [6] on the cached daily page, papers[5] on its own page."""
        daily = anon.get(f"/papers?date={today}").content.decode()
        page = reader.get(f"/papers/{papers[5].arxiv_id}").content.decode()
        return (
            count_after(daily, f'id="p-{papers[5].arxiv_id}"'),
            count_after(daily, f'id="p-{papers[6].arxiv_id}"'),
            count_after(page, 'class="paper-head"'),
        )

    assert shown() == (2, 1, 2)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_active(away, False)
    assert shown() == (1, 1, 1)
    assert Vote.objects.filter(user=away).exists()  # left out, not deleted
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_active(away, True)
    assert shown() == (2, 1, 2)


def test_submit_page(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    c = Client()
    assert c.get("/submit").status_code == 302  # log in first
    c.force_login(make_user("submitter"))
    r = c.post("/submit", {"paper": "nonsense"})
    assert r.status_code == 400 and b"not an arXiv identifier" in r.content
    r = c.post("/submit", {"paper": papers[0].arxiv_id})
    assert r.status_code == 400 and b"already on the list" in r.content
    r = c.post("/submit", {"paper": f"https://arxiv.org/pdf/{papers[11].arxiv_id}v1.pdf"})
    assert r.status_code == 302 and r["Location"] == f"/papers/{papers[11].arxiv_id}"
    unverified = Client()
    unverified.force_login(make_user("nomail", verified=False))
    assert b"Verify your email" in unverified.post("/submit", {"paper": papers[11].arxiv_id}).content


def test_comment_edit_hide_views(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, _ = site
    p = papers[0]
    c = Client()
    c.force_login(curator)
    r = c.post(f"/papers/{p.arxiv_id}/comments", {"body": "first **take**"})
    com = Comment.objects.get()
    assert r["Location"].endswith(f"#c{com.pk}")
    other = Client()
    other.force_login(make_user("other"))
    refused = other.post(f"/comments/{com.pk}/edit", {"body": "x"})
    assert refused.status_code == 403 and b"Only its author can edit a comment." in refused.content
    assert b'class="top"' in refused.content  # the site's page, not a bare line of text
    assert other.post(f"/comments/{com.pk}/hide").status_code == 403
    c.post(f"/comments/{com.pk}/edit", {"body": "second take"})
    com.refresh_from_db()
    assert com.body == "second take" and com.edited_at
    mod = Client()
    mod.force_login(make_user("mod", staff=True))
    mod.post(f"/comments/{com.pk}/hide", {"hidden": "1"})
    assert b"second take" not in Client().get(f"/papers/{p.arxiv_id}").content
    assert b"second take" in mod.get(f"/papers/{p.arxiv_id}").content


def test_a_refused_comment_or_edit_keeps_the_text_and_says_why_at_the_field(site) -> None:  # type: ignore[no-untyped-def]
    papers, curator, _ = site
    p = papers[0]
    c = Client()
    c.force_login(curator)
    long = "words " * 2000  # over the limit
    r = c.post(f"/papers/{p.arxiv_id}/comments", {"body": long})
    # Back to the field itself: a fragment navigation focuses it, with or without JavaScript.
    assert r.status_code == 302 and r["Location"].endswith("#comment-body")
    page = c.get(r["Location"]).content.decode()
    field = re.search(r'<textarea id="comment-body"[^>]*>', page)
    assert (
        field and 'aria-invalid="true"' in field.group() and 'aria-describedby="comment-err"' in field.group()
    )
    assert re.search(r'<p class="error" id="comment-err" role="alert">A comment can be at most', page)
    assert long.strip() in page
    assert 'id="comment-err"' not in c.get(f"/papers/{p.arxiv_id}").content.decode()  # said once

    com = services.add_comment(curator, p, "a first take")
    r = c.post(f"/comments/{com.pk}/edit", {"body": long})
    page = r.content.decode()
    field = re.search(r'<textarea id="body"[^>]*>', page)
    assert field and 'aria-invalid="true"' in field.group() and 'aria-describedby="body-err"' in field.group()
    assert 'id="body-err" role="alert">A comment can be at most' in page
    assert long.strip() in page  # the refused text, not the stored one: the writer loses nothing
    com.refresh_from_db()
    assert com.body == "a first take"


def test_collections_follow_and_saved_search(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    u = make_user("reader")
    c = Client()
    c.force_login(u)
    c.post(f"/papers/{papers[0].arxiv_id}/save", {"collection_name": "Thesis"})
    assert papers[0].title[:30].encode() in Client().get("/users/reader/collections/thesis").content
    page = c.get(f"/papers/{papers[0].arxiv_id}").content.decode()
    assert 'Saved in <a href="/users/reader/collections/thesis">Thesis</a>' in page
    # Set apart from the name it follows: "Saved in Thesis Remove" read as one name.
    assert re.search(r'>Thesis</a>\s*<span class="muted" aria-hidden="true">·</span> <form', page)
    assert 'Remove<span class="sr"> from Thesis</span></button>' in page  # which one, for a screen reader
    mine = c.get("/users/reader/collections/thesis").content.decode()
    assert "Remove “" in mine
    # One list item per paper, its Remove inside it (a screen reader counts the items).
    items = re.search(r'<ol class="cards">(.*?)</ol>', mine, re.S)
    assert items and items.group(1).count("<li") == 1 and "Remove “" in items.group(1)
    assert "Remove “" not in Client().get("/users/reader/collections/thesis").content.decode()  # not theirs
    thesis = u.collections.get()
    gone = c.post(
        f"/papers/{papers[0].arxiv_id}/save",
        {"remove": "1", "collection": thesis.pk, "next": "/users/reader/collections/thesis"},
    )
    assert gone.status_code == 302 and gone["Location"] == "/users/reader/collections/thesis"
    assert not thesis.items.exists()
    assert "Saved in" not in c.get(f"/papers/{papers[0].arxiv_id}").content.decode()
    c.post("/follow", {"kind": "category", "value": papers[0].primary_category_id})
    for kind, value in [
        ("category", "68T05,"),
        ("author", "no-such-person"),
        ("planet", "mars"),
        ("keyword", " "),
    ]:
        assert c.post("/follow", {"kind": kind, "value": value}).status_code == 400, kind
    assert u.follows.get().value == papers[0].primary_category_id
    # A category no paper has is refused with the settings page's words, and nothing is saved.
    never = c.post("/search/save", {"q": "vision cat:cs.zz", "next": "/search?q=vision"}, follow=True)
    assert "No such category: “cs.zz” (codes look like cs.CL".encode() in never.content
    assert not SavedSearch.objects.exists()
    c.post("/search/save", {"q": "vision transformers"})
    s = SavedSearch.objects.get(user=u)
    r = Client().get(f"/search/saved/{s.token}/feed.rss")
    assert r.status_code == 200 and ET.fromstring(r.content).find("channel/title") is not None
    assert Client().get("/search/saved/wrong-token/feed.rss").status_code == 404


def _owners_lists(papers):  # type: ignore[no-untyped-def]
    """A reader's public and private collections and a saved search: every address of theirs that
    is read without their session, or with it, and the reader."""
    u = make_user("reader")
    services.save_paper(u, papers[0], "Thesis")
    drafts = services.save_paper(u, papers[1], "Drafts")
    services.edit_collection(u, drafts, name="Drafts", public=False)
    token = services.save_search(u, "vision transformers").token
    public = [
        "/users/reader",
        "/users/reader/collections/thesis",
        *(f"/users/reader/collections/thesis.{ext}" for ext in ("bib", "ris", "csl.json")),
        *(f"/search/saved/{token}/feed{ext}" for ext in ("", ".rss", ".atom")),  # the token is the key
    ]
    own = ["/users/reader/collections/drafts", "/users/reader/collections/drafts.bib"]
    return u, public, own


def test_a_deactivated_accounts_collections_and_saved_search_feeds_are_gone_until_it_is_back(  # type: ignore[no-untyped-def]
    site,
) -> None:
    # As its user page and the "for you" feed: the saved-search feeds and the collections (a
    # private one too, to whoever had its address) were still served.
    papers, _, _ = site
    u, public, own = _owners_lists(papers)
    owner = Client()
    owner.force_login(u)
    for url in public:
        assert Client().get(url).status_code == 200, url
    for url in own:
        assert owner.get(url).status_code == 200 and Client().get(url).status_code == 404, url
    u.is_active = False
    u.save()
    for url in public + own:
        assert Client().get(url).status_code == 404, url
        assert owner.get(url).status_code == 404, url  # its session no longer signs it in
    # The 404 of any address nobody may see, not a page saying the account was deactivated.
    assert "“reader” has no collection “thesis” that you can see." in Client().get(public[1]).content.decode()
    u.is_active = True
    u.save()
    for url in public:  # the same addresses again: nothing was deleted, no token changed
        assert Client().get(url).status_code == 200, url
    owner.force_login(u)
    assert all(owner.get(url).status_code == 200 for url in own)


def test_a_saved_searchs_feed_gets_a_new_address_and_the_old_one_404s(site) -> None:  # type: ignore[no-untyped-def]
    u = make_user("reader")
    saved = services.save_search(u, "vision transformers")
    other = services.save_search(u, "graph networks")
    old = [f"/search/saved/{saved.token}/feed{ext}" for ext in ("", ".rss", ".atom")]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(u)
    reset = f"/search/saved/{saved.pk}/reset"
    assert browser.get(reset).status_code == 405  # a link cannot reset it
    assert browser.post(reset).status_code == 403  # nor another site's form
    assert Client().get(old[1]).status_code == 200
    page = browser.get("/settings").content.decode()
    csrf = re.search(
        rf'action="{reset}">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page
    )
    assert csrf, "no reset form for the saved search on /settings"
    assert 'new address<span class="sr"> for the feed of “vision transformers”</span>' in page
    r = browser.post(reset, {"csrfmiddlewaretoken": csrf[1]})
    assert r.status_code == 302 and r["Location"] == "/settings#saved-searches"
    saved.refresh_from_db()
    for gone in old:
        assert Client().get(gone).status_code == 404, gone
    assert "its address reset" in Client().get(old[0]).content.decode()
    for url in (f"/search/saved/{saved.token}/feed{ext}" for ext in ("", ".rss", ".atom")):
        assert Client().get(url).status_code == 200, url
    page = browser.get("/settings").content.decode()
    assert "The feed of “vision transformers” has a new address; the old one no longer works." in page
    assert f'href="/search/saved/{saved.token}/feed"' in page
    # Only the one: the reader's other saved search keeps its address.
    assert SavedSearch.objects.get(pk=other.pk).token == other.token
    # Another reader cannot reset it (nor learn it exists): a 404, and the address stays.
    stranger = Client()
    stranger.force_login(make_user("stranger"))
    assert stranger.post(reset).status_code == 404
    assert SavedSearch.objects.get(pk=saved.pk).token == saved.token
    assert Client().post(reset).status_code == 302  # signed out: to the log-in page, nothing reset
    assert SavedSearch.objects.get(pk=saved.pk).token == saved.token


def test_deleting_a_saved_search_that_is_not_the_readers_is_a_404(site) -> None:  # type: ignore[no-untyped-def]
    """As its reset: the delete button answered another reader's search with the redirect it gives
    after a deletion, having deleted nothing."""
    u = make_user("reader")
    saved = services.save_search(u, "vision transformers")
    delete = f"/search/saved/{saved.pk}/delete"
    stranger = Client()
    stranger.force_login(make_user("stranger"))
    r = stranger.post(delete)
    assert r.status_code == 404 and "You have no such saved search" in r.content.decode()
    assert SavedSearch.objects.filter(pk=saved.pk).exists()
    assert Client().post(delete).status_code == 302  # signed out: to the log-in page, nothing deleted
    assert SavedSearch.objects.filter(pk=saved.pk).exists()
    owner = Client()
    owner.force_login(u)
    assert owner.get(delete).status_code == 405  # a link cannot delete it
    r = owner.post(delete)
    assert r.status_code == 302 and r["Location"] == "/settings"
    assert not SavedSearch.objects.filter(pk=saved.pk).exists()
    assert owner.post(delete).status_code == 404  # gone already (another tab)


def test_feeds_parse(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    services.upvote(make_user("fv"), papers[1])
    c = Client()
    for url in [
        "/papers/feed.rss",
        "/trending/feed.rss",
        f"/categories/{papers[0].primary_category_id}/feed.rss",
    ]:
        root = ET.fromstring(c.get(url).content)
        assert root.tag == "rss" and root.findall("channel/item"), url
        assert root.find("channel/item/link").text.startswith("https://papers.example.org/papers/")  # type: ignore[union-attr]
    for url in [
        "/papers/feed.atom",
        "/trending/feed.atom",
        f"/categories/{papers[0].primary_category_id}/feed.atom",
    ]:
        root = ET.fromstring(c.get(url).content)
        entries = root.findall("{http://www.w3.org/2005/Atom}entry")
        assert root.tag == "{http://www.w3.org/2005/Atom}feed" and entries
        assert all(e.findtext("{http://www.w3.org/2005/Atom}updated") for e in entries), url  # RFC 4287


def test_feeds_read_the_pages_period(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    three_days_ago = today - dt.timedelta(days=3)
    services.upvote(make_user("fv"), papers[10])

    def titles(url: str) -> tuple[str, list[str]]:
        root = ET.fromstring(Client().get(url).content)
        items = [i.findtext("title") or "" for i in root.findall("channel/item")]
        return root.findtext("channel/title") or "", items

    assert len(titles("/papers/feed.rss")[1]) == 11  # the rolling week: both days
    title, items = titles(f"/papers/feed.rss?date={three_days_ago}")
    assert items == [papers[10].title] and three_days_ago.strftime("%-d %B %Y") in title
    assert titles(f"/trending/feed.rss?month={three_days_ago:%Y-%m}")[1][0] == papers[10].title
    assert titles(f"/papers/feed.rss?date={today - dt.timedelta(days=1)}")[1] == []
    atom = ET.fromstring(Client().get(f"/papers/feed.atom?date={three_days_ago}").content)
    ns = "{http://www.w3.org/2005/Atom}"
    assert (
        atom.find(f"{ns}link[@rel='self']").get("href").endswith(f"/papers/feed.atom?date={three_days_ago}")
    )  # type: ignore[union-attr]
    for entry in atom.findall(f"{ns}entry"):  # never updated before it was published
        assert (entry.findtext(f"{ns}updated") or "") >= (entry.findtext(f"{ns}published") or "")


def test_every_feed_links_itself_from_the_public_address(site) -> None:  # type: ignore[no-untyped-def]
    """Behind a proxy the request's host is an internal one: self links use PAPERFEED_BASE_URL."""
    papers, _, _ = site
    cat = papers[0].primary_category_id
    saved = SavedSearch.objects.create(user=make_user("rss"), query='"vision" transformers')
    ns = "{http://www.w3.org/2005/Atom}"
    for path in [
        "/papers/feed.atom",
        "/trending/feed.atom",
        f"/categories/{cat}/feed.atom",
        f"/search/saved/{saved.token}/feed.atom",
    ]:
        atom = ET.fromstring(Client().get(path, HTTP_HOST="127.0.0.1:8000").content)
        assert atom.find(f"{ns}link[@rel='self']").get("href") == f"https://papers.example.org{path}", path  # type: ignore[union-attr]
    rss = ET.fromstring(
        Client().get(f"/search/saved/{saved.token}/feed.rss", HTTP_HOST="127.0.0.1:8000").content
    )
    assert rss.findtext("channel/title") == 'paperfeed: search “"vision" transformers”'  # quoted once


def test_cached_pages_carry_each_visitors_own_csrf_token(site) -> None:  # type: ignore[no-untyped-def]
    import re

    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.get("/")
    page = second.get("/")  # served from the cache the first visitor filled
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token and b"csrf-token-placeholder" not in page.content
    r = second.post(
        "/login", {"csrfmiddlewaretoken": token.group(1).decode(), "username": "x", "password": "y"}
    )
    assert r.status_code == 200  # the token is valid for this visitor (403 otherwise)
    assert first.post("/login", {"csrfmiddlewaretoken": token.group(1).decode()}).status_code == 403


def test_search_takes_a_pasted_id_and_links_its_own_json_with_the_filters(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[0]
    c = Client()
    for q in (p.arxiv_id, f" arXiv:{p.arxiv_id}v2", f"https://arxiv.org/abs/{p.arxiv_id}"):
        r = c.get("/search", {"q": q})
        assert r.status_code == 302 and r["Location"] == f"/papers/{p.arxiv_id}", q
    r = c.get("/search", {"q": "C++ & #1", "category": "cs.CL", "sort": "date", "page": "2"})
    assert r.status_code == 200
    assert r.context["json_url"] == (
        "/api/papers/search?q=C%2B%2B+%26+%231&mode=hybrid&sort=date&category=cs.CL&p=1&limit=20"
    )
    assert c.get(r.context["json_url"]).status_code == 200


def test_a_signed_in_reader_finds_for_you_and_digests_in_the_header(site) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    assert b'href="/for-you"' not in c.get("/").content
    c.force_login(make_user("reader"))
    page = c.get("/").content
    assert b'href="/for-you"' in page and b'href="/digests/settings"' in page


def test_search_by_author_alone_lists_their_papers_with_a_count(search_home) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    Indexer().run(semantic=False)
    name = papers[0].authors[0]["name"]
    page = Client().get("/search", {"author": name, "mode": "keyword"})
    assert page.status_code == 200
    assert f"/papers/{papers[0].arxiv_id}".encode() in page.content
    assert b" match" in page.content  # "N matches"
    assert f"<title>by {name} — Search — paperfeed</title>" in page.content.decode()  # not only "Search"
    nobody = Client().get("/search", {"author": "Nobody Atall", "mode": "keyword"})
    assert "No papers match by “Nobody Atall”".encode() in nobody.content


def test_a_paper_not_stored_offers_arxiv_and_submitting_it(site) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    r = c.get("/papers/2603.03756")
    assert r.status_code == 404 and b"https://arxiv.org/abs/2603.03756" in r.content
    c.force_login(make_user("finder"))
    assert b'href="/submit?paper=2603.03756"' in c.get("/papers/2603.03756").content


def test_period_arrows_do_not_lead_past_today(site) -> None:  # type: ignore[no-untyped-def]
    _, _, today = site
    c = Client()
    for url in ("/", f"/papers?date={today}", "/trending", f"/papers?month={today:%Y-%m}"):
        assert b'rel="next"' not in c.get(url).content, url
    assert b'rel="next"' in c.get(f"/papers?date={today - dt.timedelta(days=3)}").content


def _more_like_a_thesis(saved: int) -> tuple[list[Paper], Client, set[str]]:
    """12 indexed papers (titles by keyword stand in for embeddings: the same seam), the first `saved`
    of them in reader's collection "Thesis", and the ids its "More like this collection" lists."""
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    Indexer().run(semantic=False)
    c = Client()
    c.force_login(make_user("reader"))
    for p in papers[:saved]:
        c.post(f"/papers/{p.arxiv_id}/save", {"collection_name": "Thesis"})
    page = Client().get("/users/reader/collections/thesis").content.decode()
    more = page[page.index("More like this collection") :]
    return papers, c, {p.arxiv_id for p in papers if f"/papers/{p.arxiv_id}" in more}


def test_a_collection_page_offers_more_like_it(search_home) -> None:  # type: ignore[no-untyped-def]
    papers, c, listed = _more_like_a_thesis(2)
    assert listed and not listed & {papers[0].arxiv_id, papers[1].arxiv_id}
    c.post(f"/papers/{papers[0].arxiv_id}/save", {"collection_name": "Empty one"})
    thesis = User.objects.get(username="reader").collections.get(name="Empty one")
    thesis.items.all().delete()
    assert "More like this" not in Client().get("/users/reader/collections/empty-one").content.decode()


def test_more_like_a_large_collection_leaves_out_all_its_papers(search_home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A large collection is centred on its newest papers, but none of its older ones is offered."""
    from paperfeed.feed import views

    monkeypatch.setattr(views, "COLLECTION_CENTRE", 2)
    papers, _, listed = _more_like_a_thesis(8)
    assert listed and not listed & {p.arxiv_id for p in papers[:8]}


def _similar_on_page(client: Client, arxiv_id: str) -> list[str]:
    page = client.get(f"/papers/{arxiv_id}").content.decode()
    box = page[page.index("<h2>Similar papers</h2>") :]
    return re.findall(r'href="/papers/([^"]+)"', box[: box.index("</div>")])


def test_a_paper_shows_its_neighbours_by_meaning_as_soon_as_it_is_embedded(search_home) -> None:  # type: ignore[no-untyped-def]
    """Its similar list (the words of its title until it is embedded) was cached an hour, and the
    anonymous page under the listing version, which embedding does not change: both outlived it."""
    from paperfeed.search import services as search
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    Indexer().run(semantic=False)
    paper = papers[0].arxiv_id
    anon, reader = Client(), Client()
    reader.force_login(make_user("reader"))
    by_title = search.similar(paper, limit=6)
    assert by_title.message.endswith("similar by title words")
    assert (
        _similar_on_page(anon, paper)
        == _similar_on_page(reader, paper)
        == [h.arxiv_id for h in by_title.hits]
    )
    Indexer().run()  # embeds them
    by_meaning = [h.arxiv_id for h in search.similar(paper, limit=6).hits]
    assert by_meaning != [h.arxiv_id for h in by_title.hits]
    assert _similar_on_page(anon, paper) == _similar_on_page(reader, paper) == by_meaning


def test_an_empty_collection_says_how_to_fill_it_to_its_owner_only(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    owner = make_user("owner")
    coll = services.save_paper(owner, papers[0], "To read")
    services.unsave_paper(owner, papers[0], coll)
    url = f"/users/owner/collections/{coll.slug}"
    assert "No papers in this collection yet." in Client().get(url).content.decode()  # was "Empty."
    assert "Save box" not in Client().get(url).content.decode()
    c = Client()
    c.force_login(owner)
    assert "Save one into it from the Save box of a paper's page" in c.get(url).content.decode()


def test_collections_keep_apart_names_that_slugify_alike_and_can_be_managed(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    owner, other = make_user("owner"), make_user("other")
    c = Client()
    c.force_login(owner)
    c.post(f"/papers/{papers[0].arxiv_id}/save", {"collection_name": "日本語の論文"})
    r = c.post(f"/papers/{papers[1].arxiv_id}/save", {"collection_name": "Ελληνικά"}, follow=True)
    assert "Saved to Ελληνικά." in r.content.decode()
    c.post(f"/papers/{papers[2].arxiv_id}/save", {"collection_name": "  ελληνικά "})  # same one, any case
    by_name = {coll.name: coll for coll in owner.collections.all()}
    assert set(by_name) == {"日本語の論文", "Ελληνικά"}
    assert (by_name["日本語の論文"].slug, by_name["Ελληνικά"].slug) == ("日本語の論文", "ελληνικά")
    c.post(f"/papers/{papers[3].arxiv_id}/save", {"collection_name": "Ελληνικά!"})  # slugifies alike
    assert owner.collections.get(name="Ελληνικά!").slug == "ελληνικά-2"
    greek = by_name["Ελληνικά"]
    assert set(greek.items.values_list("paper__arxiv_id", flat=True)) == {
        papers[1].arxiv_id,
        papers[2].arxiv_id,
    }

    url = f"/users/owner/collections/{greek.slug}"
    assert Client().get(url).status_code == 200
    clash = c.post(f"{url}/edit", {"name": "日本語の論文", "public": "on"}, follow=True)
    assert "You already have a collection called “日本語の論文”." in clash.content.decode()
    done = c.post(f"{url}/edit", {"name": "Greek <b>papers</b>"}, follow=True)  # no "public": private
    assert (
        done.redirect_chain[-1][0] == quote(url)
        and "Greek &lt;b&gt;papers&lt;/b&gt;” is private" in done.content.decode()
    )
    assert Client().get(url).status_code == 404  # private: not for others
    assert "Greek" not in Client().get("/users/owner").content.decode()
    assert "only you can see it" in c.get(url).content.decode()
    intruder = Client()
    intruder.force_login(other)
    assert intruder.post(f"{url}/edit", {"delete": "1"}).status_code == 404
    gone = c.post(f"{url}/edit", {"delete": "1"})
    assert gone.status_code == 302 and not owner.collections.filter(pk=greek.pk).exists()


def test_categories_index_counts_cross_lists_and_names_each_category(site) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.papers.models import PaperCategory

    links = list(PaperCategory.objects.values_list("category_id", "position"))
    primary = {c for c, pos in links if pos == 0}
    cross_only = sorted({c for c, pos in links} - primary)
    assert cross_only  # the first papers of the snapshot cross-list to categories none has as primary
    page = Client().get("/categories").content.decode()
    code = cross_only[0]
    n = sum(1 for c, _ in links if c == code)
    assert f"<strong>{code}</strong>" in page and f"{n} paper{'s' if n > 1 else ''}, 0 primary" in page
    assert "<strong>cs.CV</strong> Computer Vision and Pattern Recognition" in page


def test_a_refused_comment_keeps_its_text_and_unverified_users_are_told_first(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[0]
    writer = make_user("writer")
    c = Client()
    c.force_login(writer)
    too_long = "My <b>careful</b> review. " + "x" * 10_001
    r = c.post(f"/papers/{p.arxiv_id}/comments", {"body": too_long}, follow=True)
    body = r.content.decode()
    assert (
        'id="comment-err" role="alert"' in body and "My &lt;b&gt;careful&lt;/b&gt; review. xxx" in body
    )  # back, escaped, with the reason at the field
    assert "My &lt;b&gt;careful" not in c.get(f"/papers/{p.arxiv_id}").content.decode()  # once only
    newcomer = Client()
    newcomer.force_login(make_user("newcomer", verified=False))
    page = newcomer.get(f"/papers/{p.arxiv_id}").content.decode()
    assert "Verify your email address to comment" in page and 'name="body"' not in page


def test_saving_a_search_keeps_its_author_filter(search_home) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    Indexer().run(semantic=False)
    name = papers[0].authors[0]["name"]
    c = Client()
    c.force_login(make_user("saver"))
    page = c.get("/search", {"author": name, "since": "2025-01-01"}).content.decode()
    assert "Save this search" in page  # an author alone is a search worth saving
    r = c.post("/search/save", {"q": "", "author": name, "category": "", "dated": "1"}, follow=True)
    assert "Its dates are not kept" in r.content.decode()
    saved = SavedSearch.objects.get()
    assert saved.query == f'au:"{name}"'
    # Back on the search page, the search is no longer offered for saving: its feed is linked, and
    # named in the head for a feed reader's discovery, first; the page is the reader's alone.
    back = c.get("/search", {"author": name, "since": "2025-01-01"})
    html = back.content.decode()
    assert "Save this search" not in html and f'href="/search/saved/{saved.token}/feed">' in html
    hrefs = re.findall(
        r'<link rel="alternate" type="application/(?:rss|atom)\+xml"[^>]* href="([^"]+)"', html
    )
    assert hrefs[:2] == [f"/search/saved/{saved.token}/feed.rss", f"/search/saved/{saved.token}/feed.atom"]
    assert "private" in back["Cache-Control"]
    for other in (Client(), c):  # another reader, or another search, is offered no one's feed
        if other is not c:
            other.force_login(make_user("other"))
        page = other.get("/search", {"author": name if other is not c else "Someone Else"}).content.decode()
        assert saved.token not in page and "Save this search" in page
    feed = ET.fromstring(Client().get(f"/search/saved/{saved.token}/feed.rss").content)
    assert papers[0].title in [i.findtext("title") for i in feed.findall("channel/item")]


def test_trending_page_json_and_feeds_list_the_same_papers() -> None:
    """One definition of trending: a week of unvoted submissions is empty everywhere, and a paper
    upvoted only by a new account (counted 0, score 0) is listed everywhere."""
    papers = load_papers(4)
    curator = make_user("curator")
    this_week = periods.week_of(timezone.localdate())
    quiet, busy = this_week.shifted(-1), this_week  # votes count until the end of a past period
    for p in papers[:2]:
        services.submit(p.arxiv_id, curator, quiet.first)
    for p in papers[2:]:
        services.submit(p.arxiv_id, curator, busy.first)
    services.upvote(make_user("fan"), papers[2])
    services.upvote(make_user("newcomer", age=dt.timedelta(hours=1)), papers[3])  # not counted
    c = Client()
    ns = "{http://www.w3.org/2005/Atom}"

    def listed(period: periods.Period) -> dict[str, tuple[str, ...]]:
        """The papers each of the four lists, in order."""
        page = c.get(f"/trending?{period.query()}").content.decode()
        rss = ET.fromstring(c.get(f"/trending/feed.rss?{period.query()}").content)
        atom = ET.fromstring(c.get(f"/trending/feed.atom?{period.query()}").content)
        return {
            "page": tuple(re.findall(r'<h3 class="title tex"><a href="/papers/([^"]+)"', page)),
            "api": tuple(r["paper"]["id"] for r in c.get(f"/api/trending?{period.query()}").json()),
            "rss": tuple((i.findtext("link") or "").rsplit("/", 1)[-1] for i in rss.findall("channel/item")),
            "atom": tuple(
                (e.find(f"{ns}link").get("href") or "").rsplit("/", 1)[-1]  # type: ignore[union-attr]
                for e in atom.findall(f"{ns}entry")
            ),
        }

    assert set(listed(quiet).values()) == {()}
    assert "Nothing was upvoted in this period." in c.get(f"/trending?{quiet.query()}").content.decode()
    both = (papers[2].arxiv_id, papers[3].arxiv_id)
    assert set(listed(busy).values()) == {both}
    zero = c.get(f"/api/trending?{busy.query()}").json()[1]["trending"]
    assert zero["score"] == 0.0 and "1 more from new or unverified accounts not counted" in zero["reason"]


def test_trending_without_a_period_is_this_week_on_the_page_its_json_and_its_feeds() -> None:
    """The default is one: the feed a reader subscribes to from /trending lists what that page shows.
    Last Sunday is within seven days of today except on a Sunday, so a rolling window would list it."""
    papers = load_papers(2)
    curator = make_user("curator")
    this_week = periods.week_of(timezone.localdate())
    services.submit(papers[0].arxiv_id, curator, this_week.first - dt.timedelta(days=1))
    services.submit(papers[1].arxiv_id, curator, this_week.first)
    fan = make_user("fan")
    for p in papers:
        services.upvote(fan, p)
    c = Client()
    page = c.get("/trending").content.decode()
    rss = ET.fromstring(c.get("/trending/feed.rss").content)
    atom = ET.fromstring(c.get("/trending/feed.atom").content)
    ns = "{http://www.w3.org/2005/Atom}"
    listed = {
        "page": re.findall(r'<h3 class="title tex"><a href="/papers/([^"]+)"', page),
        "api": [r["paper"]["id"] for r in c.get("/api/trending").json()],
        "rss": [(i.findtext("link") or "").rsplit("/", 1)[-1] for i in rss.findall("channel/item")],
        "atom": [
            (e.find(f"{ns}link").get("href") or "").rsplit("/", 1)[-1]  # type: ignore[union-attr]
            for e in atom.findall(f"{ns}entry")
        ],
    }
    assert listed == {key: [papers[1].arxiv_id] for key in listed}
    assert this_week.label in page


def test_a_period_after_today_is_refused_alike_by_pages_feeds_and_the_api(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    code = papers[0].primary_category_id
    tomorrow, next_week = today + dt.timedelta(days=1), periods.week_of(today).shifted(1)
    next_month = periods.month(today.year, today.month).shifted(1)
    c = Client()
    for path, query in [
        ("/", f"date={tomorrow}"),
        ("/papers", "date=2030-01-01"),
        ("/papers", "date=9999-12-31"),
        ("/papers", next_week.query()),
        ("/trending", f"date={tomorrow}"),
        ("/trending", next_month.query()),
        (f"/categories/{code}", "date=9999-12-31"),
        ("/papers/feed.rss", next_week.query()),
        ("/trending/feed.atom", f"date={tomorrow}"),
        (f"/categories/{code}/feed.rss", next_month.query()),
    ]:
        r = c.get(f"{path}?{query}")
        body = r.content.decode()
        assert r.status_code == 400 and re.search(r"hasn&#x27;t (happened|begun) yet: today is", body), path
        assert f'<a href="{path}">See the latest instead</a>' in body, path
    for path in ("/api/daily_papers", "/api/trending", f"/api/categories/{code}/papers"):
        r = c.get(f"{path}?date=9999-12-31")
        assert r.status_code == 400 and r.json()["error"].startswith(
            "Friday, 31 December 9999 hasn't happened yet"
        )
    for query, said in [("date=10000-01-01", "not a valid date"), ("week=2025-W54", "2025 has no week 54")]:
        for path in ("/papers", "/trending/feed.rss", "/api/trending"):
            r = c.get(f"{path}?{query}")
            assert (
                r.status_code == 400
                and said in r.content.decode()
                and "See the latest" not in r.content.decode()
            )
    assert c.get(f"/papers?{periods.week_of(today).query()}").status_code == 200  # begun, not over
    assert c.get(f"/categories/{code}/feed.rss?date={papers[0].announced}").status_code == 200


def test_daily_arrows_past_the_last_listed_period_lead_to_the_current_one() -> None:
    """As on trending: → skips the empty days after the last listed one and lands on today, which
    may yet fill up, and never on a day still ahead (the API takes tomorrow's date for a
    submission made across midnight)."""
    papers = load_papers(3)
    curator = make_user("curator")
    today = timezone.localdate()
    first, last = today - dt.timedelta(days=20), today - dt.timedelta(days=10)
    services.submit(papers[0].arxiv_id, curator, first)
    services.submit(papers[1].arxiv_id, curator, last)
    c = Client()

    def arrows(period: periods.Period) -> dict[str, str]:
        return _arrows(c.get(f"/papers?{period.query()}").content.decode())

    now = periods.day(today)
    assert arrows(periods.day(last)) == {"prev": f"?date={first}", "next": f"?{now.query()}"}
    assert arrows(periods.week_of(last)) == {
        "prev": f"?{periods.week_of(first).query()}",
        "next": f"?{periods.week_of(today).query()}",
    }
    assert arrows(now) == {"prev": f"?date={last}"}
    services.submit(papers[2].arxiv_id, curator, today + dt.timedelta(days=1))
    assert arrows(periods.day(last))["next"] == f"?{now.query()}" and arrows(now) == {"prev": f"?date={last}"}


def test_a_404_says_what_is_missing_in_words_for_visitors(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    c = Client()

    def said(url: str) -> str:
        r = c.get(url)
        assert r.status_code == 404, url
        text = r.content.decode()
        found = re.search(r"<main[^>]*>(.*?)</main>", text, re.S)
        assert found is not None and "Resolver404" not in text and "matches the given query" not in text
        return found[1]

    assert "There is nothing at this address." in said("/no-such-page")
    assert "paperfeed has no user “nobody”." in said("/users/nobody")
    assert "paperfeed has no author “nobody-here”." in said("/authors/nobody-here")
    # The category's page and its feeds answer alike (one category_or_404), with the way out.
    for url in ("/categories/xx.YY", "/categories/xx.YY/feed.rss", "/categories/xx.YY/feed.atom"):
        assert "paperfeed has no category “xx.YY”." in said(url) and 'href="/categories"' in said(url), url
    assert "No saved search has this feed" in said("/search/saved/wrong-token/feed.atom")
    assert "“curator” has no collection “secret” that you can see." in said(
        "/users/curator/collections/secret"
    )
    assert "“9999.99999” is not an arXiv id." in said("/papers/9999.99999")
    assert "“hello” is not an arXiv id." in said("/papers/hello")
    long = "<b>" + "x" * 60
    assert f"“&lt;b&gt;{'x' * 37}…” is not an arXiv id." in said(f"/papers/{long}")
    for url in ("/papers/2601.99999", "/papers/2601.99999.md"):
        page = said(url)
        assert "paperfeed has no paper 2601.99999" in page, url
        assert 'href="https://arxiv.org/abs/2601.99999"' in page and 'href="/submit?paper=2601.99999"' in page
    assert c.get(f"/papers/{papers[0].arxiv_id}").status_code == 200  # ids still reach their pages
    assert c.get("/papers/feed.rss").status_code == 200
    r = c.get("/digests")
    assert r.status_code == 302 and r["Location"] == "/digests/settings"


def test_titles_outside_the_page_body_spell_tex_in_plain_text(site) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.papers.models import Paper

    papers, _, today = site
    p = papers[0]
    Paper.objects.filter(pk=p.pk).update(title="GUI-C$^2$: Coarse-to-Fine <GUI> Grounding")
    c = Client()
    c.force_login(make_user("reader"))  # past the anonymous page cache, which this direct update skips
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert "<title>GUI-C²: Coarse-to-Fine &lt;GUI&gt; Grounding — paperfeed</title>" in page
    assert "GUI-C$^2$: Coarse-to-Fine &lt;GUI&gt; Grounding</h1>" in page  # KaTeX renders the heading
    rss = ET.fromstring(c.get(f"/papers/feed.rss?date={today}").content)
    assert "GUI-C²: Coarse-to-Fine <GUI> Grounding" in [
        i.findtext("title") for i in rss.findall("channel/item")
    ]


def test_a_title_has_its_typography_on_its_page_and_in_the_lists(site) -> None:  # type: ignore[no-untyped-def]
    """Titles were shown as arXiv writes them (449 of the 74,728 real ones with "--"), where the
    abstract below had its dashes and quotes; escaped still, and the formula left for KaTeX."""
    from paperfeed.papers.models import Paper

    papers, _, today = site
    p = papers[0]
    Paper.objects.filter(pk=p.pk).update(title="Self--Supervised ``Zero-Shot'' <b>x</b> --- with $a--b$")
    shown = "Self\u2013Supervised \u201cZero-Shot\u201d &lt;b&gt;x&lt;/b&gt; \u2014 with $a--b$"
    c = Client()
    c.force_login(make_user("reader"))  # past the anonymous page cache, which this direct update skips
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert f'<h1 class="tex">{shown}</h1>' in page
    assert f"<title>{shown.replace('$', '')} — paperfeed</title>" in page  # plain: no KaTeX there
    # The day's cards, an author's list, and the feed's page (which a browser gets for "RSS").
    for url in (f"/papers?date={today}", f"/authors/{p.authors[0]['key']}", f"/papers/feed?date={today}"):
        html = c.get(url).content.decode()
        assert f">{shown}</a>" in html, url
        assert "<b>x" not in html and "Self--Supervised" not in html, url


def test_comment_times_are_absolute_in_the_html_a_cache_keeps(site) -> None:  # type: ignore[no-untyped-def]
    """A cached page outlives any "5 minutes ago": the HTML says when, the reader's browser turns it
    into words (tests/browser/test_relative_times.py), and without JavaScript the date stays."""
    from paperfeed.accounts import services as accounts
    from paperfeed.accounts.models import ApiToken

    papers, curator, _ = site
    p = papers[0]
    older = services.add_comment(curator, p, "first!")
    written = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
    Comment.objects.filter(pk=older.pk).update(created_at=written)
    fresh = services.add_comment(curator, p, "second")  # bumps the listing version: a new page

    def times(page: str) -> dict[str, str]:
        return {
            pk: re.sub(r"\s+", " ", tag)
            for pk, tag in re.findall(
                r'id="c(\d+)">\s*<p class="comment-meta">.*?(<time[^>]*>[^<]*</time>)', page, re.S
            )
        }

    anonymous = times(Client().get(f"/papers/{p.arxiv_id}").content.decode())
    assert anonymous[str(older.pk)] == (
        '<time datetime="2026-03-04T05:06:07.890123+00:00" data-ago>4 Mar 2026, 05:06 UTC</time>'
    )
    assert anonymous[str(fresh.pk)].endswith(f">{fresh.created_at:%-d %b %Y, %H:%M} UTC</time>")
    c = Client()
    c.force_login(curator)
    assert times(c.get(f"/papers/{p.arxiv_id}").content.decode()) == anonymous  # one template for all
    # Pages nobody shares in a cache still say it in words.
    accounts.create_api_token(curator, "laptop")
    ApiToken.objects.update(last_used_at=timezone.now())
    settings_page = c.get("/settings").content.decode()
    assert "used just now" in settings_page and "0 minutes" not in settings_page


def test_a_bad_search_date_marks_its_field_and_points_it_to_the_message() -> None:
    def field(html: str, name: str) -> str:
        m = re.search(rf'<input type="date" name="{name}"[^>]*>', html)
        assert m, html
        return m.group()

    html = Client().get("/search", {"q": "x", "since": "2026-99-01"}).content.decode()
    assert '<p class="error" id="search-err" role="alert">invalid From date' in html
    assert 'aria-invalid="true" aria-describedby="search-err"' in field(html, "since")
    assert "aria-invalid" not in field(html, "until")
    html = Client().get("/search", {"q": "x", "since": "2025-08-01", "until": "2025-07-01"}).content.decode()
    assert all('aria-describedby="search-err"' in field(html, n) for n in ("since", "until"))


def test_an_unknown_search_mode_or_sort_is_named_with_what_was_used_instead() -> None:
    # They fell back to hybrid and relevance without a word, as if understood.
    r = Client().get("/search", {"q": "x", "mode": "bogus", "sort": "<b>oldest</b>"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Unknown mode “bogus”: searched with hybrid (one of hybrid, keyword, semantic)." in html
    assert (
        "Unknown sort “&lt;b&gt;oldest&lt;/b&gt;”: searched with relevance (one of relevance, date, votes)."
        in html
    )
    assert "<b>oldest" not in html
    # The form holds what was used, so sending it again is a valid search.
    assert "<option selected>hybrid</option>" in html and "<option selected>relevance</option>" in html
    long = Client().get("/search", {"q": "x", "mode": "m" * 5000}).content.decode()
    assert f"Unknown mode “{'m' * 40}…”: searched with hybrid" in long  # the notice shows the start
    assert (
        "Unknown"
        not in Client().get("/search", {"q": "x", "mode": "keyword", "sort": "date"}).content.decode()
    )


def test_a_month_is_read_a_page_at_a_time_each_page_with_its_json_twin(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A month of ~600 submissions was one page of ~600 cards (a second to render, most below the fold).
    from paperfeed.feed import views

    monkeypatch.setattr(views, "DAILY_PER_PAGE", 3)
    papers = load_papers(7)
    curator = make_user("curator")
    month = periods.month(timezone.localdate().year, timezone.localdate().month).shifted(-1)
    for i, p in enumerate(papers):
        services.submit(p.arxiv_id, curator, month.first + dt.timedelta(days=i))
    fans = [make_user(f"fan{i}", age=dt.timedelta(days=90)) for i in range(3)]
    for n, p in enumerate(papers[4:], 1):  # 1, 2 and 3 upvotes: the orders differ by sort
        for fan in fans[:n]:
            services.upvote(fan, p)
    c, reader = Client(), Client()
    reader.force_login(make_user("reader"))
    for sort in ("votes", "trending", "publishedAt"):
        listed: list[str] = []
        number = 1
        while True:
            url = f"/papers?{month.query()}&sort={sort}&page={number}"
            html = reader.get(url).content.decode()
            cards = re.findall(r'<li class="card" id="p-([^"]+)"', html)
            assert 0 < len(cards) <= 3, (sort, number, cards)
            assert re.findall(r'<li class="card" id="p-([^"]+)"', c.get(url).content.decode()) == cards
            # The page's JSON twin lists the same papers in the same order.
            twin = re.search(r'href="(/api/daily_papers\?[^"]+)">JSON<', html)
            assert twin, html[-3000:]
            assert [r["paper"]["id"] for r in c.get(twin.group(1).replace("&amp;", "&")).json()] == cards
            # A vote without JS comes back to this page, at the card.
            nexts = re.findall(r'name="next" value="([^"]+)"', html)
            assert nexts == [
                f"/papers?{month.query()}&amp;sort={sort}&amp;page={number}#p-{i}" for i in cards
            ]
            if sort == "trending":  # a rank is the card's place in the month, not on its page
                assert f"Why #{len(listed) + 1}?" in html
            listed += cards
            pager = re.search(r'<nav class="pager".*?</nav>', html, re.S)
            assert pager and f"page {number} of 3" in pager.group(0)
            if 'rel="next"' not in pager.group(0):
                break
            number += 1
        assert listed == [e.paper.arxiv_id for e in services.listing(month, sort=sort)], sort
    # A page past the last shows the last; the sort links start again at the first page.
    html = c.get(f"/papers?{month.query()}&page=99").content.decode()
    assert "page 3 of 3" in html and f'href="?{month.query()}&amp;sort=trending"' in html


def test_a_malformed_page_number_is_a_400_not_another_page(site) -> None:  # type: ignore[no-untyped-def]
    """`?page=` was read by int() and fell back to page 1 on anything it could not read (`page=abc`
    showed page 1, `page=-3` too): a typo looked like the first page. It follows the API's rule now:
    plain digits from 1, more read as the most (a page past the last shows the last)."""
    papers, _, _ = site
    c = Client()
    author = papers[0].authors[0]["key"]
    category = f"/categories/{papers[0].primary_category_id}"
    for path in ("/papers", "/search?q=vision", f"/authors/{author}", category):
        sep = "&" if "?" in path else "?"
        for bad in ("abc", "0", "-1", "+2", " 2", "2.0", "1e2", "", "\u0662"):
            r = c.get(f"{path}{sep}page={quote(bad)}")
            assert r.status_code == 400, (path, bad)
            page = r.content.decode()
            assert "<h1>Bad request</h1>" in page and "page (the page, from 1) must be a whole number" in page
            assert f"not {bad!r}".replace("'", "&#x27;") in page, (path, bad)
            assert f'href="{path}"' in page, (path, bad)  # the way back, without the page
        assert c.get(f"{path}{sep}page=2").status_code == 200, path
        assert c.get(f"{path}{sep}page={'9' * 40}").status_code == 200, path  # read as the most
    # The text is escaped and cut.
    page = c.get("/papers?page=" + quote("<script>" + "x" * 100)).content.decode()
    assert "<script>x" not in page and "not &#x27;&lt;script&gt;" + "x" * 32 + "&#x27;</p>" in page


def _rels(html: str) -> dict[str, list[str]]:
    """Every rel=prev / rel=next target of a page, head <link> and in-page <a> alike."""
    found: dict[str, list[str]] = {"prev": [], "next": []}
    for tag in re.findall(r"<(?:a|link)\b[^>]*>", html):
        rel = re.search(r'\brel="(prev|next)"', tag)
        if rel:
            href = re.search(r'\bhref="([^"]*)"', tag)
            assert href, tag
            found[rel.group(1)].append(href.group(1))
    return found


def test_a_page_names_one_previous_and_one_next_in_its_head_and_its_body(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A month of several pages had two rel=next: the next month's arrow and the pager's page 2.
    from paperfeed.feed import views

    monkeypatch.setattr(views, "DAILY_PER_PAGE", 3)
    papers = load_papers(8)
    curator = make_user("curator")
    month = periods.month(timezone.localdate().year, timezone.localdate().month).shifted(-1)
    for i, p in enumerate(papers[:7]):
        services.submit(p.arxiv_id, curator, month.first + dt.timedelta(days=i))
    services.submit(papers[7].arxiv_id, curator, month.shifted(-1).first)  # a month before it
    c = Client()
    for number, want in [
        (1, {"prev": [], "next": [f"?{month.query()}&amp;page=2"]}),
        (2, {"prev": [f"?{month.query()}&amp;page=1"], "next": [f"?{month.query()}&amp;page=3"]}),
        (3, {"prev": [f"?{month.query()}&amp;page=2"], "next": []}),
    ]:
        html = c.get(f"/papers?{month.query()}&page={number}").content.decode()
        head, body = html.split("</head>")
        assert {k: sorted(set(v)) for k, v in _rels(html).items()} == want, number
        assert _rels(head) == want and _rels(body) == want, number  # each said once in each
        # The period arrows are still there, only not the page's rel=prev/next.
        assert f'href="?{month.shifted(-1).query()}" aria-label="Previous: ' in body
    # A period of one page: the arrows are its series, in the head as in the body.
    earlier = c.get(f"/papers?{month.shifted(-1).query()}&sort=trending").content.decode()
    head, body = earlier.split("</head>")
    want = {"prev": [], "next": [f"?{month.query()}&amp;sort=trending"]}
    assert _rels(head) == want and _rels(body) == want


def test_a_period_page_links_the_feeds_of_its_own_period(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, today = site
    c = Client()
    week = periods.week_of(today)
    code = papers[0].primary_category_id
    for page, rss, atom in [
        (f"/papers?{week.query()}", "/papers/feed.rss", "/papers/feed.atom"),
        (f"/papers?month={today:%Y-%m}", "/papers/feed.rss", "/papers/feed.atom"),
        (f"/trending?{week.query()}", "/trending/feed.rss", "/trending/feed.atom"),
        (
            f"/categories/{code}?{week.query()}",
            f"/categories/{code}/feed.rss",
            f"/categories/{code}/feed.atom",
        ),
    ]:
        html = c.get(page).content.decode()
        query = page.split("?", 1)[1]
        for kind, url in (("rss+xml", rss), ("atom+xml", atom)):
            tag = f'<link rel="alternate" type="application/{kind}" title="([^"]*)" href="{url}?{query}">'
            link = re.search(re.escape(tag).replace(re.escape('([^"]*)'), '([^"]*)'), html)
            assert link, (page, kind)
            assert link.group(1).endswith(("RSS)", "Atom)")) and ", " in link.group(1)  # names the period
            feed = c.get(f"{url}?{query}")
            assert feed.status_code == 200, url
        # The page's own Feeds link leads to the feed's page of the same period, which gives both.
        about = rss.removesuffix(".rss")
        assert f'<a href="{about}?{query}">' in html, (page, about)
        assert (
            f'value="https://papers.example.org{rss}?{query}"' in c.get(f"{about}?{query}").content.decode()
        )
    # The default page's feed rolls on: no period in its links.
    home = c.get("/").content.decode()
    assert 'type="application/rss+xml" title="Daily papers (RSS)" href="/papers/feed.rss">' in home
    assert '<a href="/papers/feed">RSS/Atom feed</a>' in home


def test_the_period_tabs_of_the_current_week_and_month_lead_to_pages_that_exist(site) -> None:  # type: ignore[no-untyped-def]
    # On Monday 30 November the current week's Month tab led to December: a 400 ("hasn't happened yet").
    papers, _, today = site
    for current in (periods.week_of(today), periods.month(today.year, today.month)):
        for tab in (current.day_view, current.week_view, current.month_view):
            assert tab.first <= today, (current, tab)
    c = Client()
    code = papers[0].primary_category_id
    for base in ("/papers", "/trending", f"/categories/{code}"):
        for current in (periods.week_of(today), periods.month(today.year, today.month)):
            html = c.get(f"{base}?{current.query()}").content.decode()
            tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S)
            assert tabs, base
            for href in re.findall(r'href="\?([^"]+)"', tabs.group(0)):
                assert c.get(f"{base}?{href}").status_code == 200, (base, current, href)


def test_a_category_code_in_another_case_leads_to_the_category(site) -> None:  # type: ignore[no-untyped-def]
    # /categories/cs.lg was "paperfeed has no category “cs.lg”", though settings and search take it.
    papers, _, today = site
    code = papers[0].primary_category_id
    c = Client()
    r = c.get(f"/categories/{code.lower()}?date={today}")
    assert r.status_code == 301 and r["Location"] == f"/categories/{code}?date={today}"
    title = f"<title>{code}: new papers — {periods.day(today).label} — paperfeed</title>"
    assert title in c.get(r["Location"]).content.decode()  # a tab per day tells them apart
    r = c.get(f"/categories/{code.upper()}/feed.rss")
    assert r.status_code == 200 and f"/categories/{code}</link>".encode() in r.content
    assert c.get("/categories/xx.yy").status_code == 404


def test_list_buttons_name_their_paper_with_its_tex_in_plain_characters(site) -> None:  # type: ignore[no-untyped-def]
    # A screen reader heard "Log in to upvote “H$^{2}$MT…”": KaTeX renders no hidden label.
    papers, curator, today = site
    Paper.objects.filter(pk=papers[0].pk).update(title="H$^{2}$MT: a $\\alpha$-test " + "of labels " * 8)
    services.add_comment(curator, papers[0], "ok")
    c = Client()
    for signed_in in (False, True):  # a link to log in, then the vote form's button
        if signed_in:
            c.force_login(curator)
        html = c.get(f"/papers?date={today}").content.decode()
        labels = re.findall(r'<span class="sr">([^<]*H[^<]*MT[^<]*)</span>', html)
        assert labels, html[:2000]
        assert all(
            "H²MT: a \N{GREEK SMALL LETTER ALPHA}-test of labels" in label and "$" not in label
            for label in labels
        ), labels
        assert all(len(label.split("“")[1].split("”")[0]) <= 60 for label in labels), labels
        assert ("Log in to upvote “H²MT" in html) is not signed_in


def test_an_empty_past_period_says_nobody_did_not_yet(site) -> None:  # type: ignore[no-untyped-def]
    # A day of March 2025 said "No papers were submitted on this day yet."
    _, _, today = site
    c = Client()
    past = c.get("/papers?date=2025-03-01").content.decode()
    assert "Nobody submitted a paper on this day." in past and " yet." not in past
    assert "Submit a paper to today&#x27;s list" in past or "Submit a paper to today's list" in past
    trending = c.get("/trending?week=2025-W10").content.decode()
    assert "Nothing was upvoted in this period." in trending and "yet" not in trending
    week = periods.week_of(today)
    assert "in this period yet" in c.get(f"/trending?{week.query()}").content.decode()


def test_an_empty_day_points_to_the_papers_there_are_to_read(site) -> None:  # type: ignore[no-untyped-def]
    # A new site with imported papers and no submissions showed "No papers…" and a Submit button only.
    for url in ("/papers?date=2025-03-01", "/papers?date=2025-03-01&sort=trending"):
        page = Client().get(url).content.decode()
        assert "by category</a>" in page and 'href="/categories"' in page and 'href="/search"' in page, url


def test_a_name_arxiv_wrote_in_tex_reads_decoded_on_paper_and_author_pages() -> None:
    from paperfeed.papers.services import Ingestor
    from paperfeed.papers.sources.snapshot import parse_record
    from tests.papers.test_snapshot import TEX_NAMES

    with Ingestor("snapshot") as ing:
        ing.add_all(
            [
                parse_record(
                    TEX_NAMES | {"authors_parsed": [*TEX_NAMES["authors_parsed"], ['M\\"uller', "Hans", ""]]}
                )
            ]
        )
    paper = Client().get("/papers/2510.02569").content.decode()
    for name, key in (("Tolúlọpé Ògúnrèmí", "tolulope-ogunremi"), ("Hans Müller", "hans-muller")):
        assert name in paper and f"/authors/{key}" in paper
        assert name in Client().get(f"/authors/{key}").content.decode()
    assert "\\" not in paper.split("<main", 1)[1].split("</main>", 1)[0].replace("\\(", "").replace("\\)", "")
    # What the search without its index and saved-search alerts match an author against.
    assert Paper.objects.filter(authors_text__icontains="peter stütz").exists()


def test_an_author_key_from_before_a_rekey_answers_301_and_follows_the_author() -> None:
    from paperfeed.accounts.models import Follow
    from paperfeed.papers.models import Author, AuthorAlias, Authorship

    paper = load_papers(1)[0]
    niessner = Author.objects.create(key="matthias-niessner", name="Matthias Nießner")
    Authorship.objects.create(paper=paper, author=niessner, position=99)
    AuthorAlias.objects.create(key="matthias-niener", author=niessner)
    c = Client()
    r = c.get("/authors/matthias-niener?page=2")
    assert (r.status_code, r["Location"]) == (301, "/authors/matthias-niessner?page=2")
    assert "Matthias Nießner" in c.get(r["Location"], {"page": 1}).content.decode()
    r = c.get("/api/authors/matthias-niener/papers?limit=5")
    assert (r.status_code, r["Location"]) == (301, "/api/authors/matthias-niessner/papers?limit=5")
    assert [p["id"] for p in c.get(r["Location"]).json()] == [paper.arxiv_id]
    # A key in another script is an address too; one nobody had is still a 404 naming it.
    Author.objects.create(key="张伟", name="张伟")
    assert c.get("/authors/张伟").status_code == 200
    assert c.get("/api/authors/%E5%BC%A0%E4%BC%9F/papers").status_code == 200
    assert c.get("/authors/matthias-nie").status_code == 404
    assert c.get("/api/authors/matthias-nie/papers").status_code == 404
    # A current key wins over an alias: a new author may own a key someone had before.
    Author.objects.create(key="matthias-niener", name="Matthias Niener")
    assert c.get("/authors/matthias-niener").status_code == 200

    user = make_user("follower")
    c.force_login(user)
    AuthorAlias.objects.create(
        key="ukasz-kaiser", author=Author.objects.create(key="lukasz-kaiser", name="Łukasz Kaiser")
    )
    assert c.post("/follow", {"kind": "author", "value": "ukasz-kaiser"}).status_code == 302
    assert Follow.objects.of(user).authors() == ["lukasz-kaiser"]
    # The settings form: an old key, or an old author page's address, is the author now.
    r = c.post(
        "/settings",
        {
            "action": "profile",
            "bio": "",
            "authors": "ukasz-kaiser\nhttps://x.example/authors/matthias-niener/",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Follow.objects.of(user).authors() == ["lukasz-kaiser", "matthias-niener"]


def _announce(papers: list[Paper], day: dt.date) -> None:
    Paper.objects.filter(pk__in=[p.pk for p in papers]).update(announced=day)


def test_a_day_nobody_submitted_to_lists_arxivs_newest_papers_not_yet_submitted(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # A new site with thousands of imported papers showed an empty front page until someone submitted.
    papers = load_papers(8)
    friday, older = dt.date(2025, 3, 7), dt.date(2025, 3, 6)
    _announce(papers[:6], friday)
    _announce(papers[6:], older)
    services.submit(papers[0].arxiv_id, make_user("curator"), dt.date(2025, 3, 4))
    page = Client().get("/papers?date=2025-03-07").content.decode()
    assert "New on arXiv, not yet submitted" in page and "Nobody submitted a paper" not in page
    assert "Wednesday, 7 March 2025" not in page and "Friday, 7 March 2025" in page
    listed = re.findall(r'<li class="card new" id="p-([^"]+)"', page)
    # That day's papers, newest id first, without the one already on a list or another day's.
    assert listed == sorted((p.arxiv_id for p in papers[1:6]), reverse=True)
    assert f'href="/submit?paper={papers[1].arxiv_id}"' in page  # a visitor logs in to submit it
    assert "most upvoted</a>" not in page  # no sort for a list that is not ranked
    # arXiv announces nothing on a weekend: Sunday's page shows Friday's, named as such.
    sunday = Client().get("/papers?date=2025-03-09").content.decode()
    assert "announced on Friday, 7 March 2025" in sunday
    assert re.findall(r'<li class="card new" id="p-([^"]+)"', sunday) == listed
    # A week is read to look back at what the community picked: it stays the curated list.
    assert "New on arXiv" not in Client().get("/papers?week=2025-W10").content.decode()
    # A signed-in reader submits with one click, to today's list, and the card leaves the fresh list.
    reader = make_user("reader")
    c = Client()
    c.force_login(reader)
    mine = c.get("/papers?date=2025-03-07").content.decode()
    assert f'<input type="hidden" name="paper" value="{papers[1].arxiv_id}">' in mine
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post("/submit", {"paper": papers[1].arxiv_id}).status_code == 302
    after = Client().get("/papers?date=2025-03-07").content.decode()
    assert papers[1].arxiv_id not in re.findall(r'<li class="card new" id="p-([^"]+)"', after)


def test_a_day_with_submissions_lists_only_them() -> None:
    papers = load_papers(4)
    _announce(papers, dt.date(2025, 3, 7))
    services.submit(papers[0].arxiv_id, make_user("curator"), dt.date(2025, 3, 7))
    page = Client().get("/papers?date=2025-03-07").content.decode()
    assert "New on arXiv" not in page and f'id="p-{papers[0].arxiv_id}"' in page
    assert page.count('<li class="card') == 1


def test_a_site_with_no_papers_tells_its_operator_how_to_load_them() -> None:
    page = Client().get("/").content.decode()
    assert "No papers are stored here yet" in page and "<code>paperfeed harvest</code>" in page
    assert "<code>paperfeed import FILE</code>" in page and "New on arXiv" not in page


def test_an_import_renews_the_cached_front_page_of_a_site_nobody_submitted_to(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from paperfeed.papers.signals import papers_ingested

    first = load_papers(1)
    assert first[0].arxiv_id in Client().get("/").content.decode()  # cached for visitors now
    more = load_papers(3)
    Paper.objects.filter(pk__in=[p.pk for p in more]).update(announced=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        papers_ingested.send(sender=None, counts={"created": 2})  # as `import` and `harvest` do
    page = Client().get("/").content.decode()
    assert all(p.arxiv_id in page for p in more if p.pk != first[0].pk)


def test_an_operator_is_told_the_newest_papers_are_old() -> None:
    (paper,) = load_papers(1)
    _announce([paper], dt.date(2025, 3, 7))
    staff = Client()
    staff.force_login(make_user("admin", staff=True))
    page = staff.get("/").content.decode()
    assert "For the operator: the newest papers here were announced on 7 March 2025" in page
    assert "For the operator" not in Client().get("/").content.decode()


def test_an_unsubmitted_papers_page_offers_to_submit_it(site) -> None:  # type: ignore[no-untyped-def]
    # Opened from the fresh list, search or a category, the page gave no way onto a list.
    papers, _, _ = site
    unlisted = Client().get(f"/papers/{papers[11].arxiv_id}").content.decode()
    assert "Not on a list yet: upvote it or " in unlisted
    assert f'href="/submit?paper={papers[11].arxiv_id}">submit it</a> to put it on today' in unlisted
    assert "Not on a list yet" not in Client().get(f"/papers/{papers[0].arxiv_id}").content.decode()


def test_an_upvote_on_a_paper_no_list_has_puts_it_on_todays_list(site) -> None:  # type: ignore[no-untyped-def]
    # The vote used to be stored and shown nowhere (lists, trending, feeds and digests show
    # submissions only) until someone submitted the paper.
    papers, _, today = site
    p = papers[11]
    c = Client()
    voter = make_user("voter")
    c.force_login(voter)
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert 'title="Upvote and put it on today\'s list"' in page
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, follow=True)
    assert f"Your upvote put it on the list of {today:%-d %B}." in r.content.decode()
    assert "Not on a list yet" not in r.content.decode()
    sub = p.submissions.get()
    assert (sub.day, sub.submitted_by) == (today, voter)
    assert p.arxiv_id in Client().get("/").content.decode()
    [entry] = [
        e for e in Client().get(f"/api/daily_papers?date={today}").json() if e["paper"]["id"] == p.arxiv_id
    ]
    assert entry["paper"]["upvotes"] == 1
    # A listed paper's vote lists nothing more and says nothing of it.
    other = make_user("other")
    c.force_login(other)
    answer = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, HTTP_ACCEPT="application/json").json()
    assert answer == {"id": p.arxiv_id, "upvotes": 2, "voted": True}


def test_an_unverified_upvote_on_a_paper_no_list_has_is_refused_with_the_reason(site) -> None:  # type: ignore[no-untyped-def]
    papers, _, _ = site
    p = papers[11]
    c = Client()
    c.force_login(make_user("new", verified=False))
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 403
    assert r.json()["error"].startswith(f"Verify your email address to upvote {p.arxiv_id}: an upvote on")
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"})  # the form without JavaScript: the page
    assert r.status_code == 403 and r["Content-Type"].startswith("text/html")
    assert f"Verify your email address to upvote {p.arxiv_id}" in r.content.decode()
    assert not p.votes.exists() and not p.submissions.exists()
    # On a listed paper the same account's vote is taken (it counts for trending once verified).
    assert c.post(f"/papers/{papers[0].arxiv_id}/vote", HTTP_ACCEPT="application/json").json()["upvotes"] == 1


def test_links_in_an_abstract_are_links() -> None:
    # Abstracts say "Code: https://github.com/…" as often as their comments do; only the comments'
    # were clickable. The text around them stays escaped and the TeX stays for KaTeX.
    abstract = "We show $a<b$ & <i>more</i>. Code: https://github.com/example/repo."
    [p] = load_papers(1, abstract=abstract)
    page = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    assert (
        '<a href="https://github.com/example/repo" rel="nofollow">https://github.com/example/repo</a>.'
        in page
    )
    assert "We show $a&lt;b$ &amp; &lt;i&gt;more&lt;/i&gt;. Code: " in page


def _card(html: str, arxiv_id: str) -> str:
    """The <li> of one paper on a list page."""
    found = re.search(rf'<li class="card[^"]*" id="p-{re.escape(arxiv_id)}">.*?</li>', html, re.S)
    assert found, f"no card for {arxiv_id}"
    return found.group(0)


def test_search_results_carry_the_daily_lists_vote(search_home) -> None:  # type: ignore[no-untyped-def]
    # Results showed no count and no button: a reader had to open each paper to upvote it.
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    listed, unlisted = papers[0], papers[1]
    services.submit(listed.arxiv_id, make_user("curator"), timezone.localdate())
    services.upvote(make_user("fan"), listed)
    Indexer().run(semantic=False)
    reader = Client()
    reader.force_login(make_user("reader"))

    def results_for(p: Paper, client: Client = reader) -> str:
        r = client.get("/search", {"q": f'ti:"{p.title}"', "mode": "keyword"})
        assert r.status_code == 200
        return _card(r.content.decode(), p.arxiv_id)

    card = results_for(listed)
    # The daily list's own button: a form posting to the vote, with the count, back at this card.
    assert f'<form class="vote" method="post" action="/papers/{listed.arxiv_id}/vote">' in card
    assert '<span class="count">1</span>' in card and 'aria-pressed="false"' in card
    assert 'title="Upvote"' in card and f"#p-{listed.arxiv_id}" in card
    assert 'class="vote-note"' in card  # where a refused vote is said, as on the daily list
    card = results_for(unlisted)
    assert '<span class="count">0</span>' in card
    assert 'title="Upvote and put it on today\'s list"' in card
    # Anonymous readers see the count and a way to log in, as on the daily list.
    anon = results_for(listed, Client())
    assert 'title="Log in to upvote"' in anon and '<span class="count">1</span>' in anon
    # The vote works from there: the unlisted paper goes on today's list, the reader back at the card.
    r = reader.post(
        f"/papers/{unlisted.arxiv_id}/vote", {"action": "up", "next": f"/search?q=x#p-{unlisted.arxiv_id}"}
    )
    assert r.status_code == 302 and r["Location"].endswith(f"#p-{unlisted.arxiv_id}")
    assert unlisted.submissions.exists()
    card = results_for(unlisted)
    assert (
        '<span class="count">1</span>' in card and 'aria-pressed="true"' in card and 'title="Upvote"' in card
    )


def test_a_withdrawn_paper_on_no_list_shows_its_count_but_no_vote_and_the_server_refuses_one(site) -> None:  # type: ignore[no-untyped-def]
    # Its page offered the button, which the server then refused.
    papers, _, _ = site
    p = papers[11]
    Paper.objects.filter(pk=p.pk).update(status=Paper.Status.WITHDRAWN)
    c = Client()
    c.force_login(make_user("reader"))
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert f'action="/papers/{p.arxiv_id}/vote"' not in page
    assert '<span class="vote closed" title="Withdrawn on arXiv: it takes no upvotes">' in page
    assert "Not on a list yet" not in page
    anonymous = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    assert "Log in to upvote" not in anonymous and "it takes no upvotes" in anonymous
    # The server refuses it in words, with JS or without, and stores nothing; an unverified
    # voter is told the same (verifying would not help).
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 403
    assert (
        r.json()["error"] == f"{p.arxiv_id} is withdrawn on arXiv: no list shows it, so it takes no upvotes."
    )
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"})
    assert r.status_code == 403 and b"withdrawn on arXiv" in r.content
    c.force_login(make_user("new", verified=False))
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and "withdrawn on arXiv" in r.json()["error"]
    assert not p.votes.exists() and not p.submissions.exists()
    # Submitting it is refused too.
    c.force_login(make_user("curator2"))
    r = c.post("/submit", {"paper": p.arxiv_id})
    assert r.status_code == 400 and f"{p.arxiv_id} is withdrawn on arXiv".encode() in r.content
    # A listed paper keeps its button.
    assert (
        f'action="/papers/{papers[0].arxiv_id}/vote"'
        in c.get(f"/papers/{papers[0].arxiv_id}").content.decode()
    )


def test_a_withdrawn_paper_on_a_list_takes_no_new_vote_but_one_cast_before_can_be_taken_back(site) -> None:  # type: ignore[no-untyped-def]
    # The withdrawal hides it from every list, trending, feed and digest, yet its page still took
    # votes that then counted nowhere a reader looks.
    papers, _, _ = site
    p = papers[0]  # on a list
    before, other = make_user("before"), make_user("other")
    services.upvote(before, p)
    Paper.objects.filter(pk=p.pk).update(status=Paper.Status.WITHDRAWN)
    p.refresh_from_db()
    with pytest.raises(services.NotAllowed, match="withdrawn on arXiv: no list shows it"):
        services.upvote(other, p)
    c = Client()
    c.force_login(other)
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert f'action="/papers/{p.arxiv_id}/vote"' not in page and "it takes no upvotes" in page
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "up"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and "no list shows it" in r.json()["error"]
    c.force_login(before)
    page = c.get(f"/papers/{p.arxiv_id}").content.decode()
    assert f'action="/papers/{p.arxiv_id}/vote"' in page and 'aria-pressed="true"' in page
    r = c.post(f"/papers/{p.arxiv_id}/vote", {"action": "down"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 200 and not p.votes.exists()
    assert services.vote_closed(p, voted=False) == "Withdrawn on arXiv: it takes no upvotes"
    assert services.vote_closed(papers[1], voted=False) == ""


def _save_box(html: str) -> str:
    found = re.search(r'<div class="box" id="save".*?</div>', html, re.S)
    assert found
    return found.group(0)


def test_the_save_box_offers_only_collections_the_paper_is_not_in(site) -> None:  # type: ignore[no-untyped-def]
    # After saving into "Reading list" the box offered "Reading list" again, filled in.
    papers, _, _ = site
    p = papers[0]
    c = Client()
    u = make_user("reader")
    c.force_login(u)
    services.save_paper(u, papers[1], "Thesis")  # a collection of the reader's without this paper
    box = _save_box(c.get(f"/papers/{p.arxiv_id}").content.decode())
    assert 'value="Reading list"' in box and '<option value="Thesis">' in box and "Saved in" not in box
    r = c.post(f"/papers/{p.arxiv_id}/save", {"collection_name": "Reading list"}, follow=True)
    assert "Saved to Reading list." in r.content.decode()
    box = _save_box(c.get(f"/papers/{p.arxiv_id}").content.decode())
    assert 'Saved in <a href="/users/reader/collections/reading-list">Reading list</a>' in box
    assert 'Remove<span class="sr"> from Reading list</span>' in box
    assert '<option value="Reading list">' not in box and 'value="Reading list"' not in box
    assert '<label for="coll">Also save in</label>' in box
    assert 'value="Thesis"' in box  # the name field offers the collection it is not in
    c.post(f"/papers/{p.arxiv_id}/save", {"collection_name": "Thesis"})
    box = _save_box(c.get(f"/papers/{p.arxiv_id}").content.decode())
    assert "<option" not in box and "Thesis</a>" in box
    # In every collection: the field asks for a new one's name instead of offering an old one.
    assert re.search(
        r'<input id="coll" name="collection_name" list="colls" value="" maxlength="100" required', box
    )
    # Saving again into a collection it is in (another tab's form) says so rather than "Saved".
    r = c.post(f"/papers/{p.arxiv_id}/save", {"collection_name": "reading list"}, follow=True)
    assert "Already saved in Reading list." in r.content.decode()
    assert u.collections.get(name="Reading list").items.count() == 1


def test_your_upvotes_lists_every_vote_newest_first_a_page_at_a_time(site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Votes stored on papers no list had (before an upvote listed them) showed nowhere.
    papers, _, _ = site
    u = make_user("reader")
    now = timezone.now()
    # Cast as it was then: rows on the listed papers and one on a paper on no list, oldest first.
    for i, p in enumerate([*papers[:9], papers[11]]):
        Vote.objects.create(user=u, paper=p, created_at=now - dt.timedelta(hours=10 - i))
    assert not papers[11].submissions.exists()
    c = Client()
    c.force_login(u)
    html = c.get("/users/reader").content.decode()
    assert 'Your upvotes <span class="muted">(10)</span>' in html
    upvotes = html[html.index('id="upvotes"') :]
    first = _card(upvotes, papers[11].arxiv_id)  # the newest, on no list
    assert upvotes.index(first) < upvotes.index(f'id="p-{papers[8].arxiv_id}"')
    assert "on no list yet" in first
    # The daily list's button, pressed: taking the vote back is one click.
    assert 'aria-pressed="true"' in first and '<input type="hidden" name="action" value="down">' in first
    assert 'title="Upvote"' in first  # the vote is in: "and put it on today's list" is not what it does
    # 30 a page: the first page lists them all here; a smaller page size pages them.
    from paperfeed.core.paging import site_page
    from paperfeed.feed import views

    monkeypatch.setattr(views, "_paged", lambda request, qs, per_page=30: site_page(request, qs, 4))
    seen = []
    for n in (1, 2, 3):
        page = c.get(f"/users/reader?page={n}").content.decode()
        page = page[page.index('id="upvotes"') :]
        seen += re.findall(r'<li class="card" id="p-([^"]+)"', page)
        assert f"page {n} of 3" in page
    assert seen == [p.arxiv_id for p in reversed([*papers[:9], papers[11]])]
    # Another reader sees the list, not the owner's buttons.
    other = Client().get("/users/reader").content.decode()
    assert "Upvoted <span" in other and "Your upvotes" not in other
    assert papers[11].arxiv_id in other and 'action="/papers/' not in other


def test_the_subscribe_box_fills_in_a_readers_own_address_and_never_anothers(site) -> None:  # type: ignore[no-untyped-def]
    # A signed-in reader had to type their address again; the daily and trending pages are cached
    # for everyone, so it must never land in the HTML another visitor is served.
    alice, bob = make_user("alice"), make_user("bob")
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    box = re.compile(r'<input id="sub-email"[^>]*>')
    for url in ("/", "/papers", "/trending"):
        mine = a.get(url)
        assert 'value="alice@example.org"' in box.search(mine.content.decode()).group(0), url
        assert "private" in mine["Cache-Control"]
        for visitor, page in [
            ("anonymous, filling the cache", Client().get(url)),
            ("bob", b.get(url)),
            ("anonymous, from the cache", Client().get(url)),
        ]:
            html = page.content.decode()
            assert "alice@example.org" not in html, (url, visitor)
            assert box.search(html), (url, visitor)
        assert 'value="bob@example.org"' in box.search(b.get(url).content.decode()).group(0)
        assert "value=" not in box.search(Client().get(url).content.decode()).group(0)


def test_a_stale_comment_is_shown_by_the_current_rules_and_stored_so(site) -> None:  # type: ignore[no-untyped-def]
    """A comment older rules rendered (before `comments rerender` has run) is shown as this
    version renders it, and the page's read stores that; a hidden one too, to the moderators."""
    papers, _, _ = site
    p = papers[0]
    shown, hidden = stale_comment(p), stale_comment(p, hidden=True)
    page = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    assert PRICES_NOW.strip() in page and PRICES_THEN.strip() not in page
    assert Comment.objects.get(pk=shown.pk).loaded_stale is None  # written back by the page
    assert Comment.objects.filter(pk=hidden.pk, markup_version=0).exists()  # not read by that page
    mod = Client()
    mod.force_login(make_user("mod", staff=True))
    assert mod.get(f"/papers/{p.arxiv_id}").content.decode().count(PRICES_NOW.strip()) == 2
    assert not Comment.objects.stale().exists()
