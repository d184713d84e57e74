from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

from paperfeed.accounts.throttle import RateLimited
from paperfeed.core.http import rate_limited, retry_later_page


class RateLimitedMiddleware:
    """Turns a RateLimited raised anywhere in a view into 429 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RateLimited):
            return None
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return rate_limited_json(exception)
        # Held as every 429 is, to the longest wait the limit met can make (not to an hour: reset's
        # is 5 a day), and said in words as the header says it in seconds: a reader refused a reset
        # was told to wait tens of thousands of seconds. The limit is named so that a reader knows
        # what to hold back on (which of a sign-in's three it was).
        return retry_later_page(
            request,
            "429.html",
            exception.retry_after,
            status=429,
            most=exception.longest_wait,
            limit=exception.description,
        )


def rate_limited_json(exception: RateLimited, also: Mapping[str, Any] | None = None) -> HttpResponse:
    """The JSON 429 of a limit met (core.http.rate_limited: the limit named in `error` and `limit`),
    its wait held to the longest that limit can make anyone wait; for a view that answers JSON where
    this middleware would not see it asked for (`?format=json`), with keys of its own (`also`)."""
    return rate_limited(exception.retry_after, exception.longest_wait, exception.description, also=also)
