"""An abstract's TeX in the browser: KaTeX renders its formulas, and an escaped dollar is a dollar."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sitedata import load_papers

# The page's HTML is tests/feed/test_views.py's to prove on both databases: SQLite only here.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]


def test_an_escaped_dollar_shows_as_a_dollar_and_opens_no_formula(live_server: Any, new_page: Any) -> None:
    # auto-render pairs the "$" of one run of text with the next: a bare "$" from \$ took
    # "5 a run, and " for a formula and left the real one, $x^2$, as text.
    [p] = load_papers(1, abstract=r"It costs \$5 a run, and $x^2$ per \ours{} step.")
    page, watch = new_page(1280, 900)
    page.goto(f"{live_server.url}/papers/{p.arxiv_id}")
    page.wait_for_load_state("networkidle")  # KaTeX has rendered
    abstract = page.locator(".abstract")
    assert abstract.locator(".katex").count() == 1
    assert abstract.locator(".katex annotation").all_text_contents() == ["x^2"]
    shown = " ".join(abstract.inner_text().split())
    assert shown.startswith("It costs $5 a run, and") and shown.endswith("per ours step.")
    assert "\\" not in shown
    assert watch.errors == [] and watch.dialogs == []
