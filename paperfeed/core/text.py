"""Small pieces of wording shared by pages, mails and messages."""

from __future__ import annotations


def quoted(text: str) -> str:
    """`text` between curly quotes, unless it is already a quoted phrase (a followed keyword or a
    search typed as "state space"), which would otherwise read “"state space"”."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text
    return f"“{text}”"
