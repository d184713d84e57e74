from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from paperfeed.accounts.throttle import RateLimited
from paperfeed.core.http import retry_later, retry_later_page


class RateLimitedMiddleware:
    """Turns a RateLimited raised anywhere in a view into 429 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RateLimited):
            return None
        most, limit = exception.longest_wait, exception.description
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return retry_later("rate limited", exception.retry_after, status=429, most=most, limit=limit)
        # Held as /subscribe's 429 is, to the longest wait the limit met can make (not to an hour:
        # reset's is 5 a day), and said in words as the header says it in seconds: a reader refused
        # a reset was told to wait tens of thousands of seconds. The limit is named so that a reader
        # knows what to hold back on (which of a sign-in's three it was).
        return retry_later_page(
            request, "429.html", exception.retry_after, status=429, most=most, limit=limit
        )
