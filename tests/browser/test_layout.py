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
