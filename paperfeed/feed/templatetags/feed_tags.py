from __future__ import annotations

import re

from django import template

register = template.Library()


@register.filter
def paragraphs(text: str) -> list[str]:
    """arXiv abstracts keep hard line wraps; a paragraph starts after a blank or indented line."""
    parts = re.split(r"\n\s*\n|\n(?=[ \t]+\S)", (text or "").strip())
    return [" ".join(p.split()) for p in parts if p.strip()]


@register.filter
def get_item(mapping: dict[object, object], key: object) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None
