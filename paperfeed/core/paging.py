"""Paging numbers read from a query string by one rule, the API's (`api.paging`): plain ASCII
digits, at least a minimum, more than a maximum read as the maximum. Here the site's HTML pages
read their `?page=` and `?limit=` with it (feed, recs and moderation views); a malformed one is the
site's 400 page naming the parameter and its range."""

from __future__ import annotations

import re
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from paperfeed.core.middleware import BadParameter

_DIGITS = re.compile(r"[0-9]+")  # not \d, which takes any script's digits (Arabic-Indic ones too)
HUGE = 10**9  # any number this long is over every maximum here, and int() of 5,000 digits fails


def plain_digits(value: Any) -> Any:
    """A query value as a number, `value` itself when it is no string. Lax readings take `+5`, ` 5`,
    `5.0` and `5_0` too: a client sending those has a bug that reading them would hide, and one
    reading of a query value is the contract. ValueError for anything but plain digits."""
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise ValueError("plain decimal digits only")
        return int(value) if len(value) < 10 else HUGE
    return value


def site_number(
    request: HttpRequest, name: str, *, default: int, low: int, high: int | None, what: str
) -> int:
    """A site page's `?page=` or `?limit=` by the API's rule: plain ASCII digits, at least `low`; more
    than `high` is read as `high` (None: no bound here, e.g. a page past the last, which the
    paginator reads as the last). Anything else is the site's 400 page naming the parameter and its
    range, linking the page without it: a typo no longer quietly shows another page."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        n = plain_digits(raw)
    except ValueError:
        n = None
    if n is None or n < low:
        bound = f"from {low} to {high} in plain digits (more is read as {high})" if high else f"from {low} up"
        query = request.GET.copy()
        del query[name]
        back = f"{request.path}?{query.urlencode()}" if query else request.path
        raise BadParameter(
            f"{name} ({what}) must be a whole number {bound}, not {raw[:40]!r}",
            link=(back, f"Show the page without {name}"),
        )
    return n if high is None else min(n, high)


def site_page(request: HttpRequest, rows: Any, per_page: int) -> Page:
    """The `?page=` of a site list: a page past the last is read as the last, as the API reads a `p`
    past its maximum; a malformed one is a 400."""
    number = site_number(request, "page", default=1, low=1, high=None, what="the page, from 1")
    return Paginator(rows, per_page).get_page(number)
