from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from paperfeed.accounts.throttle import RateLimited
from paperfeed.core.http import retry_later, retry_seconds
from paperfeed.core.text import about


class RateLimitedMiddleware:
    """Turns a RateLimited raised anywhere in a view into 429 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RateLimited):
            return None
        most = exception.longest_wait
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return retry_later("rate limited", exception.retry_after, status=429, most=most)
        # Held as /subscribe's 429 is, to the longest wait the limit met can make (not to an hour:
        # reset's is 5 a day), and said in words as the header says it in seconds: a reader refused
        # a reset was told to wait tens of thousands of seconds.
        wait = retry_seconds(exception.retry_after, most)
        body = render_to_string("429.html", {"wait": about(wait)}, request=request)
        resp = HttpResponse(body, status=429)
        resp["Retry-After"] = str(wait)
        return resp
