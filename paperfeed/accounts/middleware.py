from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from paperfeed.accounts.throttle import RateLimited
from paperfeed.core.http import retry_later


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
            return retry_later("rate limited", exception.retry_after, status=429)
        body = render_to_string("429.html", {"retry_after": exception.retry_after}, request=request)
        resp = HttpResponse(body, status=429)
        resp["Retry-After"] = str(exception.retry_after)
        return resp
