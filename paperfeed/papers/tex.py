"""TeX in paper text ($…$, $$…$$, \\(…\\), \\[…\\]): where its spans are, and excerpts that keep each
span whole. The browser's KaTeX renders a span only when it arrives in one piece: an excerpt cut
inside one, or a <mark> put inside one, leaves the reader raw TeX."""

from __future__ import annotations

import html
import re

# The groups are the TeX without its delimiters: 1 $$…$$ and 2 \[…\] (display), 3 \(…\), 4 $…$.
SPAN = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.S)

# How far past its end an excerpt may run to finish a TeX span rather than stop before it.
SLACK = 120


def spans(text: str) -> list[tuple[int, int]]:
    if "$" not in text and "\\" not in text:  # most abstracts: no scan
        return []
    return [m.span() for m in SPAN.finditer(text)]


def window(tex: list[tuple[int, int]], lo: int, hi: int) -> tuple[int, int]:
    """[lo, hi) moved so that it cuts none of the `tex` spans: a start inside one moves back to
    it, an end inside one moves past it (up to SLACK characters) or else back before it."""
    for a, b in tex:
        if a < lo < b:
            lo = a
    for a, b in tex:
        if a < hi < b:
            hi = b if b - hi <= SLACK else max(lo, a)
    return lo, hi


def excerpt_html(source: str, marks: list[tuple[int, int]], lo: int = 0, hi: int | None = None) -> str:
    """`source[lo:hi]` escaped, with <mark> around the `marks` ranges (sorted, not overlapping) and
    "…" where it is cut. A window edge inside a TeX span moves to include the span (or, if that is
    too long, to stop before it), and a mark inside a span is left out."""
    tex = spans(source)
    lo, hi = window(tex, lo, len(source) if hi is None else hi)
    parts, pos = [], lo
    for a, b in marks:
        if a < lo or b > hi or any(x < b and a < y for x, y in tex):
            continue
        parts += [html.escape(source[pos:a]), "<mark>", html.escape(source[a:b]), "</mark>"]
        pos = b
    parts.append(html.escape(source[pos:hi]))
    return ("… " if lo > 0 else "") + "".join(parts) + (" …" if hi < len(source) else "")
