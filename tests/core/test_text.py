from __future__ import annotations

from paperfeed.core.text import quoted


def test_quoted_keeps_a_phrase_own_quotes() -> None:
    assert quoted("diffusion") == "“diffusion”"
    assert quoted('"state space"') == '"state space"'  # not “"state space"”
    assert quoted('"') == '“"”'  # a lone quote is not a quoted phrase


def test_quoted_is_one_line_and_cut() -> None:
    assert quoted("a\n  b") == "“a b”"
    assert quoted("x" * 41) == f"“{'x' * 40}…”"
    assert quoted('"' + "y" * 50 + '"') == f'“"{"y" * 39}…”'  # a cut phrase loses its closing quote
    assert quoted("z" * 50, 60) == f"“{'z' * 50}”"
