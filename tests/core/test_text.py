from __future__ import annotations

from paperfeed.core.text import quoted


def test_quoted_keeps_a_phrase_own_quotes() -> None:
    assert quoted("diffusion") == "“diffusion”"
    assert quoted('"state space"') == '"state space"'  # not “"state space"”
    assert quoted('"') == '“"”'  # a lone quote is not a quoted phrase
