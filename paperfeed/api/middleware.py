"""HTTP semantics for every answer under /api/, in one place rather than per endpoint: HEAD where GET
is allowed (ninja routes HEAD nowhere), a JSON 405 that names the allowed methods, `charset` on JSON,
answers to a signed-in caller never stored by a shared cache, and an ETag with 304 for the public
reads (a client polling /api/daily_papers gets 304 until the list changes)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from paperfeed.core.http import answer_conditionally

PREFIX = "/api/"


class ApiHttpMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        head = request.method == "HEAD"
        if head:  # as Django's class-based views do: HEAD is GET without the body
            request.method = "GET"
        response = self.get_response(request)
        if response.status_code == 405:
            response = _not_allowed(request, response, "HEAD" if head else request.method or "")
        if response.get("Content-Type", "") == "application/json":
            response["Content-Type"] = "application/json; charset=utf-8"
        if _private(request):
            # A bearer token's or a session's answer: a shared cache must neither keep nor reuse it.
            add_never_cache_headers(response)
            patch_vary_headers(response, ["Authorization", "Cookie"])
        else:
            response = answer_conditionally(request, response)
        if head:
            request.method = "HEAD"
            if not response.streaming:  # the length the GET would have had, and no body
                length = len(response.content)
                response.content = b""
                response["Content-Length"] = str(length)
        return response


def _private(request: HttpRequest) -> bool:
    return "Authorization" in request.headers or getattr(request, "auth", None) is not None


def _not_allowed(request: HttpRequest, response: HttpResponse, method: str) -> HttpResponse:
    allowed = sorted({m.strip() for m in response.get("Allow", "").split(",") if m.strip()})
    if "GET" in allowed:
        allowed = sorted({*allowed, "HEAD"})
    body = {"error": f"{method} is not allowed on {request.path[:200]}; allowed: {', '.join(allowed)}"}
    out = HttpResponse(json.dumps(body), status=405, content_type="application/json; charset=utf-8")
    out["Allow"] = ", ".join(allowed)
    out["Content-Length"] = str(len(out.content))
    return out
