"""The database fallback's snippets: the same excerpts as the search index's, TeX kept whole."""

from __future__ import annotations

from paperfeed.feed.searching import snippet


def test_fallback_snippet_marks_words_outside_tex_only() -> None:
    out = snippet("Graph <b>kernels</b> with $k_{graph}$ costs for graph search.", ["graph"])
    marked = "<mark>Graph</mark> &lt;b&gt;kernels&lt;/b&gt; with $k_{graph}$ costs"
    assert out == marked + " for <mark>graph</mark> search."


def test_fallback_snippet_window_starts_near_the_first_match() -> None:
    text = "lead " * 100 + "the target word, then $x^2$ " + "tail " * 100
    out = snippet(text, ["target"], width=60)
    assert out.startswith("… ") and "<mark>target</mark>" in out and out.endswith(" …")
    assert snippet("no match here", ["absent"]) == "no match here"
