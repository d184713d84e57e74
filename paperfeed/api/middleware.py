"""HTTP semantics for every answer under /api/, in one place rather than per endpoint: HEAD where GET
is allowed (ninja routes HEAD nowhere), OPTIONS answered with the allowed methods, a JSON 405 that
names them, `charset` on JSON, answers to a signed-in caller never stored by a shared cache (nor a
public answer carrying its caller's RateLimit count), and an ETag with 304 for the public reads
(a client polling /api/daily_papers gets 304 until the list changes), and the RateLimit-Policy and
RateLimit headers of the limits each request met (the address's, and a write's per-user one).
`document` puts the same in the OpenAPI document, so a client reads it there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers

from paperfeed.accounts import throttle
from paperfeed.api.schemas import RetryLaterOut
from paperfeed.core.http import answer_conditionally, json_answer

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
        with throttle.recording() as limits:
            response = self.get_response(request)
        if response.status_code == 405:
            response = _not_allowed(request, response, "HEAD" if head else request.method or "")
            if request.method == "OPTIONS":  # RFC 9110 §9.3.7: what the path allows, no body
                options = HttpResponse(status=204)
                del options["Content-Type"]  # no body to label (Django's default says text/html)
                options["Allow"] = response["Allow"]
                return options
        if response.get("Content-Type", "") == "application/json":
            response["Content-Type"] = "application/json; charset=utf-8"
        if _private(request):
            # A bearer token's or a session's answer: a shared cache must neither keep nor reuse it.
            add_never_cache_headers(response)
            patch_vary_headers(response, ["Authorization", "Cookie"])
        else:
            response = answer_conditionally(request, response)
        counted = throttle.ratelimit_headers(limits)
        for name, value in counted.items():  # on a 304 too: it was counted
            response[name] = value
        if counted and not _private(request):
            # RateLimit is this client's own count, so a shared cache must not hand the answer to
            # another client; the client's own cache keeps it and revalidates by ETag each time
            # (a 304 costs no body, and carries the count as it is now).
            patch_cache_control(response, private=True, no_cache=True)
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
    allowed = sorted({m.strip() for m in response.get("Allow", "").split(",") if m.strip()} | {"OPTIONS"})
    if "GET" in allowed:
        allowed = sorted({*allowed, "HEAD"})
    out = json_answer(
        {"error": f"{method} is not allowed on {request.path[:200]}; allowed: {', '.join(allowed)}"}, 405
    )
    out["Allow"] = ", ".join(allowed)
    out["Content-Length"] = str(len(out.content))
    return out


def _header(description: str, kind: str = "string", required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": kind}}


# The headers this middleware, the API's error handlers and core.middleware add, by status (ninja
# keys the document's responses by int until it is dumped as JSON).
_HEADERS = {
    401: {
        "WWW-Authenticate": _header(
            'Bearer realm="paperfeed", with error="invalid_token" when one was refused'
        )
    },
    405: {"Allow": _header("the methods the path takes")},
    429: {"Retry-After": _header("seconds until a request is counted again", "integer")},
    503: {"Retry-After": _header("seconds to wait", "integer")},
}
# Present wherever the limits were checked: every 2xx, 301, 401 and 429 (and the errors found after
# the check).
_RATELIMIT = {
    "RateLimit-Policy": _header(
        'draft-ietf-httpapi-ratelimit-headers: each limit met, `"api:ip";q=300;w=300` (q requests per'
        ' w seconds; a write adds its per-user limit, e.g. `"vote:user";q=30;w=60`)'
    ),
    "RateLimit": _header(
        'each limit\'s state after this request, `"api:ip";r=297;t=540`: r requests left now, t seconds'
        " until all of q is free again (the window slides: room comes back gradually before that)"
    ),
}
_ETAG = _header("of the body: send it back in If-None-Match to get a 304 until it changes", required=False)
_LINK = _header('RFC 8288: <url>; rel="prev", <url>; rel="next" (when the page came full)', required=False)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the HTTP semantics above: the headers each answer carries, the 304 of
    a public read, and the 503 every path gives while the database is down (core.middleware)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["RetryLaterOut"] = RetryLaterOut.model_json_schema(ref_template="#/components/schemas/{model}")
    unavailable = {
        "description": "Service Unavailable: the database is down or restarting",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetryLaterOut"}}},
    }
    for operations in schema.get("paths", {}).values():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            responses.setdefault(503, unavailable)
            for status, headers in _HEADERS.items():
                if status in responses:
                    responses[status].setdefault("headers", {}).update(headers)
            for status, answer in responses.items():
                if 200 <= int(status) < 300 or int(status) in (301, 401, 429):
                    answer.setdefault("headers", {}).update(_RATELIMIT)
            if any(p["name"] == "p" for p in op.get("parameters", [])):  # api.paging.link_pages
                for status, answer in responses.items():
                    if 200 <= int(status) < 300:
                        answer.setdefault("headers", {})["Link"] = _LINK
            if method == "get" and not op.get("security"):
                for status, answer in responses.items():
                    if 200 <= int(status) < 300:
                        answer.setdefault("headers", {})["ETag"] = _ETAG
                responses.setdefault(
                    304, {"description": "Not Modified: the If-None-Match sent names the current ETag"}
                )
    return schema
