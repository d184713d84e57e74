"""The community flow in a real browser (issue 4's acceptance): sign up, verify through the mail the
SMTP sink received, log in, submit, upvote from two accounts, comment with TeX and with <script>,
find the paper in search, see it on today's page and in trending; screenshots are saved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from paperfeed.accounts.models import User
from paperfeed.feed.models import Comment, Vote
from tests.browser.conftest import SCREENSHOTS
from tests.sitedata import PASSWORD, load_papers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_up_and_verify(page: Any, base: str, sink: Any, name: str) -> None:
    page.goto(f"{base}/signup")
    page.fill("#id_username", name)
    page.fill("#id_email", f"{name}@example.org")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/signup/sent")
    [mail] = sink.to(f"{name}@example.org")
    link = re.search(r"https://papers\.example\.org(/verify/\S+)", mail.text())
    assert link, mail.text()
    page.goto(base + link.group(1))
    assert "Email verified" in page.inner_text("h1")
    page.goto(f"{base}/login")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert name in page.inner_text("header")


@pytest.fixture
def search_index(settings, tmp_path):  # type: ignore[no-untyped-def]
    """The real search engine over this test's papers, its indexes in a home of its own."""
    from paperfeed.search import services as search
    from paperfeed.search.indexing import Indexer

    settings.HOME = tmp_path
    search.use_engine(None)
    yield lambda: Indexer().run()
    search.use_engine(None)


@pytest.mark.timeout(120)  # Chromium through a whole visit: ~8 s quiet, 10 s at load 7
def test_sign_up_submit_vote_comment_search_trending(live_server, smtp_sink, new_page, search_index) -> None:  # type: ignore[no-untyped-def]
    papers = load_papers(30)
    paper = next(p for p in papers if "$" in p.abstract)  # an abstract with TeX in it
    search_index()
    base = live_server.url
    SCREENSHOTS.mkdir(exist_ok=True)

    alice, alice_watch = new_page()
    sign_up_and_verify(alice, base, smtp_sink, "alice")
    alice.goto(f"{base}/submit")
    alice.fill("#paper", f"https://arxiv.org/abs/{paper.arxiv_id}")
    alice.click("form.stack button[type=submit]")
    alice.wait_for_url(f"{base}/papers/{paper.arxiv_id}")
    assert paper.title.split()[0] in alice.inner_text("h1")
    alice.click(".paper-head form.vote button")
    alice.wait_for_selector(".paper-head form.vote.on")
    assert alice.inner_text(".paper-head .count") == "1"

    bob, bob_watch = new_page(390, 844)  # a phone
    sign_up_and_verify(bob, base, smtp_sink, "bob")
    bob.goto(f"{base}/papers/{paper.arxiv_id}")
    bob.click(".paper-head form.vote button")
    bob.wait_for_selector(".paper-head form.vote.on")
    assert bob.inner_text(".paper-head .count") == "2"
    assert Vote.objects.filter(paper=paper).count() == 2

    alice.goto(f"{base}/papers/{paper.arxiv_id}")
    alice.fill("#comment-body", "Nice result: $E=mc^2$")
    alice.click("#comment-form button")
    alice.fill("#comment-body", "<script>alert('xss')</script>")
    alice.click("#comment-form button")
    alice.wait_for_selector(".comment-body .katex")
    comments = alice.locator(".comment-body")
    assert comments.count() == 2 and Comment.objects.count() == 2
    assert comments.nth(0).locator(".katex").count() == 1  # rendered by KaTeX
    assert comments.nth(1).inner_text().strip() == "<script>alert('xss')</script>"  # shown as text
    assert alice.locator(".abstract .katex").count() >= 1  # the abstract's TeX too
    alice.screenshot(path=str(SCREENSHOTS / "paper.png"), full_page=True)

    words = " ".join(re.findall(r"[A-Za-z]{4,}", paper.title)[:3])
    alice.goto(f"{base}/search?q={words}")
    assert alice.locator(f"a[href='/papers/{paper.arxiv_id}']").count() >= 1
    assert "search index has none" not in alice.inner_text("main")  # found by the search engine
    assert alice.locator(".snippet mark").count() >= 1  # highlighted
    alice.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)
    # A snippet's TeX is rendered, the query's words marked around it but never inside it.
    before_tex = re.findall(r"[A-Za-z]{4,}", paper.abstract[: paper.abstract.index("$")])[-4:]
    alice.goto(f"{base}/search?q={'+'.join(before_tex)}")
    card = alice.locator(f"a[href='/papers/{paper.arxiv_id}']").first.locator("xpath=ancestor::li")
    snippet = card.locator(".snippet")
    alice.wait_for_selector(".snippet .katex")
    assert snippet.locator(".katex").count() >= 1 and snippet.locator("mark").count() >= 2
    assert snippet.locator(".katex mark").count() == 0 and "$" not in snippet.inner_text()

    anon, anon_watch = new_page()
    anon.goto(f"{base}/")
    card = anon.locator(f"#p-{paper.arxiv_id.replace('.', '\\.')}")
    assert card.locator(".count").inner_text() == "2" and "2 comments" in card.inner_text()
    anon.screenshot(path=str(SCREENSHOTS / "daily.png"), full_page=True)
    # On the phone: the paper's buttons come right under its head, before the abstract and the
    # comments; the header scrolls away; the search page has one search box, its own.
    bob.goto(f"{base}/papers/{paper.arxiv_id}")
    links_y = bob.locator(".side-col .links").bounding_box()["y"]
    assert links_y < bob.locator("#abs-h").bounding_box()["y"] < bob.locator("#com-h").bounding_box()["y"]
    # (Functions, not strings, for the page to run: its CSP refuses eval, as it should.)
    assert bob.evaluate("() => { window.scrollTo(0, 1500); return window.scrollY; }") > 500
    assert bob.evaluate("() => document.querySelector('header.top').getBoundingClientRect().bottom") <= 0
    bob.goto(f"{base}/search?q=graph")
    assert bob.locator("input[type=search]").count() == 1
    bob.goto(f"{base}/")
    bob.screenshot(path=str(SCREENSHOTS / "daily-phone.png"), full_page=True)
    anon.goto(f"{base}/trending")
    trending = anon.locator(f"#p-{paper.arxiv_id.replace('.', '\\.')}")
    assert trending.count() == 1
    trending.locator("summary").click()
    assert "more from new or unverified accounts" in trending.locator(".why p").inner_text()  # both are new

    for w in (alice_watch, bob_watch, anon_watch):
        assert w.dialogs == [] and w.errors == []
    assert User.objects.filter(email_verified=True).count() == 2
    for name in ("paper", "search", "daily"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000


@pytest.mark.timeout(90)
def test_a_new_sites_front_page_offers_arxivs_newest_to_submit(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    # Thousands of papers imported and an empty front page until somebody submitted one.
    from django.utils import timezone

    from paperfeed.papers.models import Paper
    from tests.browser.test_for_you import log_in
    from tests.sitedata import make_user

    papers = load_papers(6)
    Paper.objects.update(announced=timezone.localdate())
    # As `import` and `harvest` end (papers_ingested): a page an earlier test cached is not served.
    from paperfeed.papers.signals import papers_ingested

    papers_ingested.send(sender=None, counts={"created": len(papers)})
    newest = max(p.arxiv_id for p in papers)
    base = live_server.url
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in (1280, 360):
        page, watch = new_page(width=width)
        page.goto(f"{base}/")
        assert page.locator("#fresh-h").inner_text() == "New on arXiv, not yet submitted"
        first = page.locator("li.card.new").first
        assert first.get_attribute("id") == f"p-{newest}"
        submit = first.locator(".put")
        box = submit.bounding_box()
        assert box and box["x"] + box["width"] <= width  # on the card, not off a phone's edge
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        page.screenshot(path=str(SCREENSHOTS / f"front-new-site-{width}.png"), full_page=True)
        assert watch.errors == [] and watch.dialogs == []
    log_in(page, base, make_user("reader"))
    page.goto(f"{base}/")
    with page.expect_navigation():
        page.locator(f"[id='p-{newest}'] .put button").click()
    assert page.url.endswith(f"/papers/{newest}") and "Submitted to the list of" in page.inner_text(
        ".messages"
    )
    page.goto(f"{base}/")
    # Now the curated list: the submitted paper with its upvote button, and no fresh list.
    assert page.locator(f"li.card[id='p-{newest}'] form.vote").count() == 1
    assert page.locator("#fresh-h").count() == 0


@pytest.mark.timeout(60)
def test_the_footers_feed_link_leads_to_a_page_that_copies_the_address(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    ctx = browser.new_context(viewport={"width": 360, "height": 800})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/")
    with page.expect_navigation():
        page.locator("footer a", has_text="RSS/Atom feed").click()
    assert page.url == f"{live_server.url}/papers/feed" and "RSS and Atom feed" in page.inner_text("h1")
    page.locator("button.copy[data-copy=rss-url]").click()  # shown by site.js
    address = f"{settings.BASE_URL}/papers/feed.rss"
    # The clipboard answers asynchronously, and the line is written then (seen empty under load).
    page.locator(".copy-said", has_text="Copied").wait_for()
    assert page.locator(".copy-said").inner_text() == f"Copied: {address}"
    assert page.evaluate("navigator.clipboard.readText()") == address
    ctx.close()
