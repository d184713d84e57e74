from __future__ import annotations

from typing import Any

from django import template
from django.contrib.messages import constants as message_levels
from django.forms import BaseForm
from django.forms.formsets import BaseFormSet

from paperfeed.core import text

register = template.Library()
register.filter("quoted", text.quoted)


@register.simple_tag(takes_context=True)
def error_title(context: template.Context) -> str:
    """ "Error: " before the title of a page that shows what was wrong with what was sent (WCAG 3.3.1:
    a screen reader reads the title first), whichever way the page shows it: a bound form with
    errors, a view's `error` or `…_error` message (or an object's `.error`, as a search page's
    result has), or an error message after a redirect. base.html's <title> calls it, so every page
    has it."""
    return "Error: " if _shows_an_error(context) else ""


def _shows_an_error(context: template.Context) -> bool:
    values: dict[Any, Any] = context.flatten()  # its stubs type the values as a union of Nodes and more
    for name, value in values.items():
        if isinstance(value, BaseForm | BaseFormSet):
            if value.is_bound and value.errors:  # an unbound form is never validated here
                return True
        elif name == "messages":
            if any(m.level >= message_levels.ERROR for m in value):
                return True
        elif name == "error" or str(name).endswith("_error"):
            if value:
                return True
        elif isinstance(getattr(value, "error", None), str) and value.error:
            return True
    return False
