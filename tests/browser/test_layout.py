"""Layout on a phone with real arXiv text: what the audit's synthetic long words do not cover."""

from __future__ import annotations

from typing import Any

import pytest

from paperfeed.feed import services
from paperfeed.papers.models import Paper
from tests.sitedata import load_papers, make_user

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]

# As arXiv abstracts set words in bold (2503.16167): KaTeX joins them with unbreakable spaces.
BOLD = r"$\textbf{900 manually curated, high-quality examples of code review comments}$"

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_a_long_inline_formula_scrolls_inside_itself_on_a_phone(live_server: Any, new_page: Any) -> None:
    [paper] = load_papers(1)
    Paper.objects.filter(pk=paper.pk).update(
        abstract=f"We release {BOLD} and $x^2$ inline. " + paper.abstract
    )
    services.submit(paper.arxiv_id, make_user("curator"), None)
    page, watch = new_page(375, 800)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    page.wait_for_load_state("networkidle")  # KaTeX has rendered, its fonts are in
    formulas = page.locator(".abstract .katex")
    assert formulas.count() >= 2  # rendered, not left as $…$ text
    assert page.evaluate(OVERFLOW) == 0  # the page does not scroll sideways
    wide = page.locator(".abstract .katex.wide")
    assert wide.count() == 1 and "manually" in wide.inner_text()
    assert wide.evaluate("k => k.scrollWidth > k.clientWidth")  # its own scroller
    # A short formula keeps its place on the line (no box of its own).
    assert (
        page.locator(".abstract .katex:not(.wide)").first.evaluate("k => getComputedStyle(k).display")
        == "inline"
    )
    # Wide enough a window, nothing to scroll: the class goes.
    page.set_viewport_size({"width": 1600, "height": 800})
    page.wait_for_function("() => !document.querySelector('.abstract .katex.wide')")
    assert watch.errors == []


def test_a_phone_shows_the_cite_box_after_the_abstract_and_before_the_comments(
    live_server: Any, new_page: Any
) -> None:
    # At 360 px the Cite box came after the abstract, every comment and the comment form.
    [paper] = load_papers(1)
    reader = make_user("reader")
    services.submit(paper.arxiv_id, reader, None)
    for i in range(3):
        services.add_comment(reader, paper, f"Comment {i}: " + "a long remark " * 30)

    def top(page: Any, selector: str) -> float:
        box = page.locator(selector).bounding_box()
        assert box, selector
        return float(box["y"])

    page, watch = new_page(360, 800)
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    assert top(page, ".links") < top(page, "#abs-h") < top(page, "#cite") < top(page, "#comments")
    assert top(page, "#comments") < top(page, ".side-col > .box:has(> h2:text-is('Details'))")
    assert page.evaluate(OVERFLOW) == 0
    # The desktop keeps its two columns: Cite beside the abstract, at the top of the side column.
    page.set_viewport_size({"width": 1280, "height": 800})
    cite, abstract = page.locator("#cite").bounding_box(), page.locator(".abstract").bounding_box()
    assert cite and abstract and cite["x"] > abstract["x"] + abstract["width"]
    assert top(page, "#cite") < top(page, "#comments")
    assert watch.errors == []


def test_on_a_phone_the_comment_button_does_not_touch_the_box_below(live_server: Any, new_page: Any) -> None:
    # The boxes moved under the comments sat flush against the Comment button (no gap at all).
    from tests.browser.test_for_you import log_in

    [paper] = load_papers(1)
    page, watch = new_page(390, 844)
    log_in(page, live_server.url, make_user("reader"))
    page.goto(f"{live_server.url}/papers/{paper.arxiv_id}")
    button = page.locator("#comment-form button").bounding_box()
    below = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.side-col > .box')]
             .map(b => b.getBoundingClientRect().top + scrollY)
             .filter(t => t > document.querySelector('#comments').getBoundingClientRect().top + scrollY))"""
    )
    assert below - (button["y"] + button["height"]) >= 12
    assert watch.errors == []


# The width the input's placeholder text takes, against the width its box leaves for text.
PLACEHOLDER_FITS = """input => {
    const s = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return [ctx.measureText(input.placeholder).width, room];
}"""


def test_the_subscribe_boxs_placeholder_is_whole_on_a_desktop_and_a_phone(
    live_server: Any, new_page: Any
) -> None:
    # On a desktop the side column's box cut "you@example.org" to "you@exam".
    for width in (1280, 1024, 375):
        page, watch = new_page(width, 800)
        for url in ("/", "/trending"):
            page.goto(f"{live_server.url}{url}")
            text, room = page.locator("#sub-email").evaluate(PLACEHOLDER_FITS)
            assert text <= room, (width, url, text, room)
            assert page.evaluate(OVERFLOW) == 0
        assert watch.errors == []


def test_a_phones_header_keeps_its_navigation_on_one_line(live_server: Any, new_page: Any) -> None:
    # At 375 px "For you" wrapped alone onto a second line of the header's navigation.
    from tests.browser.test_for_you import log_in

    staff = make_user("editor", staff=True)
    for width in (375, 360):
        for who in (make_user(f"reader{width}"), staff):
            page, watch = new_page(width, 800)
            log_in(page, live_server.url, who)
            page.goto(f"{live_server.url}/")
            tops = page.locator("header .nav a").evaluate_all(
                "links => links.map(a => a.getBoundingClientRect().top)"
            )
            assert "For you" in page.locator("header .nav").inner_text()
            assert max(tops) - min(tops) < 2, (width, who.username, tops)  # one line
            nav = page.locator("header .nav").bounding_box()
            link = page.locator("header .nav a").first.bounding_box()
            assert nav and link and nav["height"] < 2 * link["height"], (width, who.username)
            # Every link of the header is whole on the screen, staff's too: their Moderation was a
            # sixth link of the row, scrolled out of sight within it.
            sides = page.locator("header a, header button").evaluate_all(
                "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().left,"
                " e.getBoundingClientRect().right])"
            )
            assert all(left >= 0 and right <= width for _, left, right in sides), (width, sides)
            assert page.locator("header .nav").evaluate("n => n.scrollWidth - n.clientWidth") == 0
            staff_link = page.get_by_role("navigation", name="Staff").get_by_role("link", name="Moderation")
            assert staff_link.is_visible() == who.is_staff, (width, who.username)
            assert page.evaluate(OVERFLOW) == 0
            assert watch.errors == []


# How far below the header the first box inside <main> starts: the topmost of main's descendants that
# take up room (a wrapper's top is its first child's, so the minimum is the first thing one sees).
GAP_BELOW_HEADER = """() => {
    const header = document.querySelector('header.top').getBoundingClientRect().bottom;
    const tops = [...document.querySelectorAll('main *')]
        .map(e => e.getBoundingClientRect())
        .filter(r => r.width > 0 && r.height > 0)
        .map(r => r.top);
    return Math.min(...tops) - header;
}"""


def test_every_pages_content_starts_below_the_header_not_flush_against_it(
    live_server: Any, new_page: Any
) -> None:
    # `.wrap`'s `padding: 0 16px` overrode main's top padding: the daily list's first box touched the
    # header's bottom border.
    [paper] = load_papers(1)
    services.submit(paper.arxiv_id, make_user("curator"), None)
    for width in (1280, 375):
        page, watch = new_page(width, 800)
        for url in ("/", f"/papers/{paper.arxiv_id}", "/search?q=learning"):
            page.goto(f"{live_server.url}{url}")
            gap = page.evaluate(GAP_BELOW_HEADER)
            assert gap >= 8, (width, url, gap)
        assert watch.errors == []


def test_a_formula_in_a_similar_papers_link_keeps_its_place_on_the_line_before_the_colon(
    live_server: Any, new_page: Any, settings: Any, tmp_path: Any
) -> None:
    # The similar list's titles are inline links (.tex on an <a>): measured against their width, 0,
    # every formula in them was "wide", a scrolling box of its own apart from the colon after it.
    from dataclasses import replace

    from paperfeed.search import services as search
    from paperfeed.search.indexing import Indexer
    from tests.search.conftest import ingest, records

    settings.HOME = tmp_path
    search.use_engine(None)
    title = "GSBAK$^K$: $top$-$K$ speculative decoding"  # as 2503.12827 has it
    ingest([replace(r, title=title) if r.arxiv_id == "2503.00007" else r for r in records()])
    Indexer().run(semantic=False)
    try:
        page, watch = new_page(1280, 900)
        page.goto(f"{live_server.url}/papers/2503.00001")
        page.wait_for_load_state("networkidle")  # KaTeX has rendered, its fonts are in
        link = page.locator(".side-col a.tex[href='/papers/2503.00007']")
        formula = link.locator(".katex").first
        assert formula.evaluate("k => [k.className, getComputedStyle(k).display]") == ["katex", "inline"]
        gap = formula.evaluate(
            """k => { const r = document.createRange(), t = k.parentNode.nextSibling;
                 r.setStart(t, 0); r.setEnd(t, 1);
                 return [r.toString(), r.getBoundingClientRect().left - k.getBoundingClientRect().right]; }"""
        )
        assert gap[0] == ":" and abs(gap[1]) < 1, gap
        assert watch.errors == []
    finally:
        search.use_engine(None)
