"""Small pieces of wording shared by pages, mails and messages."""

from __future__ import annotations

import math
import re

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


def about(seconds: float) -> str:
    """A wait as a reader takes it in, rounded to what they would plan by: "about a minute", "about
    45 minutes", "about 3 hours" (a client gets the exact seconds, in Retry-After)."""
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "about a minute"
    if minutes < 90:
        return f"about {minutes} minutes"
    return f"about {math.floor(minutes / 60 + 0.5)} hours"


_UNITS = ((86_400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def sentence(words: str) -> str:
    """Words as a sentence a page or a message shows: capital first, a full stop unless it ends on
    one already ("too many requests (…); try again in about a minute" -> "Too many requests (…); try
    again in about a minute."). The JSON's `error` keeps its words bare, as an API's errors are."""
    words = words.strip()
    if not words:
        return ""
    return words[:1].upper() + words[1:] + ("" if words[-1] in ".!?" else ".")


def per(seconds: int) -> str:
    """A limit's window as its figure is read: "a minute", "an hour", "a day", "per 5 minutes",
    "per 6 hours" (accounts.throttle.Limit.description: "comments: 10 per 5 minutes")."""
    size, unit = next((size, unit) for size, unit in _UNITS if seconds % size == 0)
    n = seconds // size
    if n == 1:
        return f"{'an' if unit == 'hour' else 'a'} {unit}"
    return f"per {counted(n, unit)}"


def paragraphs(text: str) -> list[str]:
    """arXiv abstracts keep hard line wraps; a paragraph starts after a blank or indented line."""
    parts = re.split(r"\n\s*\n|\n(?=[ \t]+\S)", (text or "").strip())
    return [" ".join(p.split()) for p in parts if p.strip()]
