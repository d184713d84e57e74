from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from paperfeed.core.text import paragraphs as text_paragraphs
from paperfeed.papers import tex

register = template.Library()


@register.filter
def plain_tex(text: str) -> str:
    """TeX spelled in plain characters, for where KaTeX does not run (a <title>, a meta tag)."""
    return tex.plain(text)


@register.filter
def tex_prose(text: str) -> str:
    """An abstract's TeX outside its formulas (\\textbf{…}, \\%, \\href, …) as text; the formulas
    left for KaTeX, which renders only those."""
    return tex.prose(text)


@register.filter(is_safe=True)
def tex_dollars(html: str) -> SafeString:
    """After tex_prose and the escaping (urlize): its escaped dollars (\\$) as "$" that KaTeX's
    auto-render does not take for a formula's start (papers.tex.dollars_html)."""
    return mark_safe(tex.dollars_html(conditional_escape(html)))  # noqa: S308  # nosec B308 B703


@register.filter
def paragraphs(text: str) -> list[str]:
    """arXiv abstracts keep hard line wraps; a paragraph starts after a blank or indented line."""
    return text_paragraphs(text)


@register.filter
def ago(when: dt.datetime | None) -> str:
    """How long ago, as "5 minutes ago"; "just now" under a minute, where timesince says
    "0 minutes" (and for a moment ahead of this server's clock, written by another)."""
    if when is None:
        return ""
    if timezone.now() - when < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(when)} ago"
