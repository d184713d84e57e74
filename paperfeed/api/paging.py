"""The one paging rule of every JSON list: `p` (Hugging Face's page number, from 0) and `limit`,
written in plain ASCII digits. A value that is not such a number (`limit=0`, `p=-1`, `limit=abc`,
and also `+5`, ` 5`, `5.0`, `5_0`, an Arabic-Indic or fullwidth five) is a 400 naming the parameter
and its range; a number over the maximum is read as the maximum (RELIABILITY §4c: `limit=100000` is
clamped to 100, as are 5,000 nines), so a client asking for "everything" still gets a page. Each
page links to the pages beside it (`Link: <…>; rel="next"`)."""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.encoding import escape_uri_path
from ninja import Field, Schema
from pydantic import BeforeValidator

from paperfeed.core.paging import plain_digits

MAX_LIMIT, MAX_PAGE = 100, 1000

# What a 400 says for each paging parameter, also the OpenAPI description.
RULES = {
    "p": f"p (the page, from 0) must be an integer from 0 to {MAX_PAGE} in plain digits"
    f" (more is read as {MAX_PAGE})",
    "limit": f"limit must be an integer from 1 to {MAX_LIMIT} in plain digits (more is read as {MAX_LIMIT})",
}

# Plain digits only (core.paging.plain_digits), the rule the site's pages read theirs by too.
PlainInt = Annotated[int, BeforeValidator(plain_digits)]


class Paging(Schema):
    """`Query[Paging]` in an endpoint's signature: ninja validates (the bounds below) before the view
    runs, and the API's validation handler turns a failure here into the 400 of `bad_paging`."""

    p: PlainInt = Field(0, ge=0, description=RULES["p"])
    limit: PlainInt = Field(50, ge=1, description=RULES["limit"])

    def window(self) -> tuple[int, int]:
        """The rows [start, end) of the page, clamped."""
        limit, p = min(self.limit, MAX_LIMIT), min(self.p, MAX_PAGE)
        return p * limit, p * limit + limit


class SearchPaging(Paging):
    """20 a page: search results, recommendations."""

    limit: PlainInt = Field(20, ge=1, description=RULES["limit"])


def bad_paging(errors: list[dict[str, Any]], query: QueryDict) -> str | None:
    """The 400 message when a validation failure is a paging parameter's, else None. The value is
    quoted from the query (ninja drops it from its errors), cut short."""
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if len(loc) == 2 and loc[0] == "query" and loc[1] in RULES:
            return f"{RULES[loc[1]]}, not {query.get(loc[1], '')[:40]!r}"
    return None


def link_pages(request: HttpRequest, response: HttpResponse, page: Paging, returned: int) -> None:
    """RFC 8288 `Link` to the pages beside this one, as GitHub's API gives them: `prev` past the
    first page, `next` when this one came full (so the next may be empty, as the last page of a list
    that fills its pages exactly is). The same query otherwise, paging values as read (clamped).
    Absolute from PAPERFEED_BASE_URL, as the feeds' links are: behind a proxy the request's own
    host is an internal one (127.0.0.1:8000), which a client following `next` cannot reach."""
    limit, p = min(page.limit, MAX_LIMIT), min(page.p, MAX_PAGE)
    links = []
    for n, rel, present in ((p - 1, "prev", p > 0), (p + 1, "next", returned >= limit and p < MAX_PAGE)):
        if present:
            query = request.GET.copy()
            query["p"] = str(n)
            if "limit" in query:
                query["limit"] = str(limit)
            url = f"{settings.BASE_URL}{escape_uri_path(request.path)}?{query.urlencode()}"
            links.append(f'<{url}>; rel="{rel}"')
    if links:
        response["Link"] = ", ".join(links)
