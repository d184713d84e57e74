"""An abstract's TeX in the browser: KaTeX renders its formulas, and an escaped dollar is a dollar."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sitedata import load_papers

# The page's HTML is tests/feed/test_views.py's to prove on both databases: SQLite only here.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]


def _rendered(live_server: Any, new_page: Any, part: str, **changes: str) -> tuple[Any, str, Any]:
    """A paper's page with `changes` to its record, once KaTeX has rendered: the `part` (a selector),
    its text as shown (whitespace joined), and the page's watch."""
    [p] = load_papers(1, **changes)
    page, watch = new_page(1280, 900)
    page.goto(f"{live_server.url}/papers/{p.arxiv_id}")
    page.wait_for_load_state("networkidle")  # KaTeX has rendered
    shown = page.locator(part)
    return shown, " ".join(shown.inner_text().split()), watch


def test_an_escaped_dollar_shows_as_a_dollar_and_opens_no_formula(live_server: Any, new_page: Any) -> None:
    # auto-render pairs the "$" of one run of text with the next: a bare "$" from \$ took
    # "5 a run, and " for a formula and left the real one, $x^2$, as text.
    abstract, shown, watch = _rendered(
        live_server, new_page, ".abstract", abstract=r"It costs \$5 a run, and $x^2$ per \ours{} step."
    )
    assert abstract.locator(".katex").count() == 1
    assert abstract.locator(".katex annotation").all_text_contents() == ["x^2"]
    assert shown.startswith("It costs $5 a run, and") and shown.endswith("per ours step.")
    assert "\\" not in shown
    assert watch.errors == [] and watch.dialogs == []


def test_a_titles_formula_renders_and_its_prose_has_the_typography(live_server: Any, new_page: Any) -> None:
    # Titles went to KaTeX as arXiv wrote them: "Self--Supervised" showed its two hyphens.
    heading, shown, watch = _rendered(
        live_server, new_page, "h1", title=r"Self--Supervised ``Zero-Shot'' $x^2$ at \$5 <b>x</b>"
    )
    assert heading.locator(".katex annotation").all_text_contents() == ["x^2"]
    assert shown.startswith("Self\u2013Supervised \u201cZero-Shot\u201d") and shown.endswith("at $5 <b>x</b>")
    assert heading.locator("b").count() == 0
    assert watch.errors == [] and watch.dialogs == []


def test_money_is_no_formula_and_real_math_still_renders(live_server: Any, new_page: Any) -> None:
    # Unescaped prices (240 "$" in 146 of the 74,728 real abstracts) were paired by auto-render:
    # "$0.398 to $" rendered as a formula. Real math beside them must still render, a "%" in a
    # formula show (to KaTeX it starts a comment), a padded formula render with its TeX intact.
    abstract, shown, watch = _rendered(
        live_server,
        new_page,
        ".abstract",
        abstract=(
            r"Costs fell from $0.398 to $0.228, in $O(n \log n)$ time with an $\alpha$-divergence; "
            r"{PvNeXt} reaches $88.94%$ with $ r \geq s-1$ at $18/hour."
        ),
    )
    assert abstract.locator(".katex annotation").all_text_contents() == [
        r"O(n \log n)",
        r"\alpha",
        r"88.94\%",
        r" r \geq s-1",  # KaTeX's annotation keeps the source's space
    ]
    assert abstract.locator(".katex-error").count() == 0
    assert shown.startswith("Costs fell from $0.398 to $0.228, in")
    assert "PvNeXt reaches" in shown and "88.94%" in shown and shown.endswith("at $18/hour.")
    assert watch.errors == [] and watch.dialogs == []
