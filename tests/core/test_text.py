from __future__ import annotations

from paperfeed.core.text import counted, quoted


def test_quoted_keeps_a_phrase_own_quotes() -> None:
    assert quoted("diffusion") == "“diffusion”"
    assert quoted('"state space"') == '"state space"'  # not “"state space"”
    assert quoted('"') == '“"”'  # a lone quote is not a quoted phrase


def test_quoted_is_one_line_and_cut() -> None:
    assert quoted("a\n  b") == "“a b”"
    assert quoted("x" * 41) == f"“{'x' * 40}…”"
    assert quoted('"' + "y" * 50 + '"') == f'“"{"y" * 39}…”'  # a cut phrase loses its closing quote
    assert quoted("z" * 50, 60) == f"“{'z' * 50}”"


def test_counted_says_one_thing_and_many_things() -> None:
    assert counted(1, "paper") == "1 paper"  # command output said "1 papers" or "1 paper(s)"
    assert counted(0, "paper") == "0 papers"
    assert counted(2, "open report") == "2 open reports"
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"
    assert counted(74_728, "row") == "74,728 rows"
