from __future__ import annotations

from django import template

from paperfeed.core import text

register = template.Library()
register.filter("quoted", text.quoted)
