"""Paper's own display helpers (no database needed: unsaved papers)."""

from __future__ import annotations

from paperfeed.papers.models import Paper


def test_author_line_names_six_and_counts_the_rest() -> None:
    def line(n: int) -> str:
        return Paper(authors=[{"name": f"A{i}", "key": f"a{i}"} for i in range(n)]).author_line

    assert line(0) == ""
    assert line(2) == "A0, A1"
    assert line(6) == "A0, A1, A2, A3, A4, A5"
    assert line(8) == "A0, A1, A2, A3, A4, A5 and 2 more"
    assert Paper(authors=[{"key": "nameless"}]).author_line == ""  # a record without a name
