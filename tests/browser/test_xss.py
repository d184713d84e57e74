"""RELIABILITY S6: the 3c payload corpus stored in comments, titles, abstracts, usernames and bios
renders with no JavaScript dialog and no CSP violation, and shows as the text it is."""

from __future__ import annotations

import pytest

from paperfeed.accounts.models import User
from paperfeed.feed import services
from tests.sitedata import load_papers, make_user

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(2)>',
    "<img src=x onerror=alert(3)>",
    '<a href="javascript:alert(4)">j</a>',
    '<a href="JaVaScRiPt:alert(5)">J</a>',
    "<iframe srcdoc='<script>alert(6)</script>'></iframe>",
    "</textarea><script>alert(7)</script>",
    "{{7*7}} {% debug %}",
    r"$\href{javascript:alert(8)}{x}$ $\url{JaVaScRiPt:alert(9)}$",
    r'$\includegraphics{x" onerror="alert(10)}$',
    r"$\def\a{\a\a}\a$ $\htmlData{foo=bar}{x}$ $\rule{99999em}{99999em}$ unbalanced $ sign",
    r"$\edef\a{\a\a}\a$ $\edef\b{\b}\b$",
    "\u202egnp.exe zero\u200bwidth",
]
CORPUS = " ".join(PAYLOADS)


def test_payload_corpus_renders_inert(live_server, new_page, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(services.throttle.LIMITS, "comment:user", services.throttle.Limit(100, 300))
    [paper] = load_papers(1, title=f"Title {CORPUS}", abstract=f"Abstract {CORPUS}", comments=CORPUS)
    # Usernames cannot hold these through the sign-up form; stored directly, they must still be inert.
    villain = make_user("villain")
    User.objects.filter(pk=villain.pk).update(username=PAYLOADS[1][:150], bio=CORPUS)
    villain.refresh_from_db()
    services.submit(paper.arxiv_id, villain)
    for payload in PAYLOADS:
        services.add_comment(villain, paper, payload)
    services.upvote(make_user("fan"), paper)
    page, watch = new_page()
    base = live_server.url
    from urllib.parse import quote

    for path in [
        "/",
        f"/papers/{paper.arxiv_id}",
        "/trending",
        f"/users/{quote(villain.username, safe='')}",
        f"/search?q={quote(PAYLOADS[0])}",
        f"/search?q={quote('Title')}",
        f"/categories/{paper.primary_category_id}",
    ]:
        page.goto(base + path)
        page.wait_for_load_state("load")
        assert page.locator("script:not([src])").count() == 0, path  # no inline script got in
        assert page.locator("[onerror], [onload], iframe").count() == 0, path
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    text = page.inner_text("body")
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(3)>" in text
    # Recursive macros stop at KaTeX's maxExpand and stay as their source text: the page rendered,
    # with KaTeX loaded (without it every formula would stay text and this would prove nothing).
    assert page.evaluate("() => !!(window.katex && window.renderMathInElement)")
    assert r"\edef\a{\a\a}\a" in text and r"\def\a{\a\a}\a" in text
    assert page.locator(".comment-body").count() == len(PAYLOADS)
    page.goto(f"{base}/users/{quote(villain.username, safe='')}")
    assert PAYLOADS[1] in page.inner_text("h1")
    assert watch.dialogs == []
    assert [e for e in watch.errors if "Content Security Policy" in e] == []
