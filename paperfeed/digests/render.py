"""Digest mail from composed items: subject, plain text and HTML (tables and inline styles, no remote
images or scripts, so common mail clients show it as meant). User-supplied text (titles, abstracts,
names) is cleaned of control and bidi-override characters and shortened; HTML autoescapes it."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from paperfeed.digests import content
from paperfeed.digests.mail import absolute, manage_url, unsubscribe_url
from paperfeed.digests.models import Digest, Frequency, Subscriber
from paperfeed.papers import tex
from paperfeed.papers.models import Paper

# C0/C1 controls (CR, LF included) and the bidi embeddings/overrides/isolates (U+202A-202E, U+2066-2069).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def clean(text: str, limit: int) -> str:
    text = " ".join(_CONTROL.sub(" ", text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # At the end of a word: an abstract ending "we argue that su…" reads as a typo. A text with
    # no space in its second half (one long word, an address) is cut where it reaches the limit.
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut[: limit - 1]).rstrip(" ,;:") + "…"


# The text part's line width: read in a terminal or a plain-text client, whose lines are 80 columns
# at most, the usual 72-78 of mail with room for a reply's "> ".
TEXT_WIDTH = 76


def wrapped(text: str, first: str, rest: str) -> str:
    """`text` broken at spaces into lines of TEXT_WIDTH, `first` before the first line and `rest`
    before the others; a word longer than a line (a URL) stays whole on a line of its own."""
    return textwrap.fill(
        text,
        TEXT_WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,  # "Vision-Language" and an address's hyphens stay whole
    )


@dataclass
class PaperView:
    id: str
    title: str
    authors: str
    category: str
    abstract: str
    url: str
    abs_url: str
    code: list[str]


class Renderer:
    """Renders digests. Most subscribers share papers, so each paper's view and each (paper, reason)
    block is rendered once per run and reused."""

    def __init__(self) -> None:
        self.cache: dict[int, Paper] = {}
        self.views: dict[int, PaperView] = {}
        self.blocks: dict[tuple[int, str], tuple[str, str]] = {}

    def _papers(self, pks: list[int]) -> dict[int, Paper]:
        missing = [pk for pk in pks if pk not in self.cache]
        if missing:
            for p in Paper.objects.filter(pk__in=missing).prefetch_related("links"):
                self.cache[p.pk] = p
        return {pk: self.cache[pk] for pk in pks if pk in self.cache}

    def view(self, paper: Paper) -> PaperView:
        if paper.pk not in self.views:
            names = [clean(a.get("name", ""), 80) for a in (paper.authors or [])]
            authors = ", ".join(names[:5]) + (f" et al. ({len(names)} authors)" if len(names) > 5 else "")
            self.views[paper.pk] = PaperView(
                id=paper.arxiv_id,
                title=clean(tex.plain(paper.title), 300),  # mail clients run no KaTeX
                authors=authors,
                category=paper.primary_category_id or "",
                abstract=clean(tex.plain(paper.abstract), 400),
                url=absolute(reverse("paper", args=[paper.arxiv_id])),
                abs_url=paper.abs_url,
                code=[lk.url for lk in paper.links.all() if lk.kind in ("github", "gitlab")][:2],
            )
        return self.views[paper.pk]

    def block(self, paper: Paper, reason: str) -> tuple[str, str]:
        key = (paper.pk, reason)
        if key not in self.blocks:
            p, why = self.view(paper), clean(tex.plain(reason), 200)  # the reason may quote a title
            ctx = {
                "p": p,
                "reason": why,
                # The text part's own lines: unwrapped, a title, an abstract or a reason ran to one
                # line of hundreds of characters, which a plain-text client shows as it is.
                "text": {
                    "title": wrapped(p.title, "* ", "  "),
                    "authors": wrapped(p.authors + (f" · {p.category}" if p.category else ""), "  ", "  "),
                    "abstract": wrapped(p.abstract, "  ", "  "),
                    "why": wrapped(why, "  why: ", "       ") if why else "",
                },
            }
            self.blocks[key] = (
                render_to_string("digests/email/paper.txt", ctx),
                render_to_string("digests/email/paper.html", ctx),
            )
        return self.blocks[key]

    def render(self, digest: Digest, sub: Subscriber, items: list[Any]) -> tuple[str, str, str]:
        papers = self._papers([it[0] for it in items])
        sections: dict[str, list[tuple[str, str]]] = {}
        notes: dict[str, list[tuple[str, str]]] = {}
        first = None
        for pk, key, why in items:
            if pk == content.NOTE:
                text, path = content.read_note(why)
                notes.setdefault(key, []).append((clean(text, 200), absolute(path)))
                sections.setdefault(key, [])
            elif pk in papers:
                sections.setdefault(key, []).append(self.block(papers[pk], why))
                first = first or self.view(papers[pk])
        kind = "Weekly" if digest.frequency == Frequency.WEEKLY else "Daily"
        count = sum(len(v) for v in sections.values())
        ctx = {
            "kind": kind,
            "period": digest.period,
            "count": count,
            "sections": [(content.section_title(k, sub), v, notes.get(k, [])) for k, v in sections.items()],
            "manage_url": manage_url(sub),
            "unsubscribe_url": unsubscribe_url(sub),
            "site_url": absolute("/"),
        }
        subject = f"paperfeed {kind.lower()}, {digest.period:%a %-d %b}: " + (
            f"{count} paper{'s' if count != 1 else ''} — {clean(first.title, 70)}" if first else "nothing new"
        )
        text = render_to_string("digests/email/digest.txt", ctx)
        html = render_to_string("digests/email/digest.html", ctx)
        return clean(subject, 200), text, html
