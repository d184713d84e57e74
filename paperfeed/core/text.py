"""Small pieces of wording shared by pages, mails and messages."""

from __future__ import annotations

QUOTE_LIMIT = 40


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Someone's text quoted in a sentence, on one line and cut to `limit` characters (templates
    escape it). A phrase that brings its own quotes (a keyword or search typed as "state space")
    keeps them rather than read “"state space"”."""
    text = " ".join(text.split())
    if len(text) > limit:
        return f"“{text[:limit]}…”"
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text
    return f"“{text}”"


def counted(n: int, word: str, plural: str = "") -> str:
    """`n` and the noun as a count reads: "1 paper", "2 papers", "0 papers" ("1 match", "3 matches"
    with `plural` given). Output said "1 papers" or hedged with "paper(s)"."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
