"""Conditional GET for documents that clients poll (the JSON API's public reads, the RSS/Atom feeds):
an ETag from the body, so a client's If-None-Match gets 304 exactly while the bytes are the same, and
If-Modified-Since answered from the response's own Last-Modified when it has one (RFC 9110 §13.2.2:
If-None-Match wins when both are sent). Django's ConditionalGetMiddleware does the same for GET only;
this one also serves HEAD and is applied where it is meant, not to every page of the site.

And the one rendering of every JSON answer (`dumps`, `json_answer`)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import parse_http_date_safe


def answer_conditionally(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.streaming:
        return response
    if not response.has_header("ETag"):
        set_response_etag(response)
    last_modified = (
        parse_http_date_safe(response["Last-Modified"]) if response.has_header("Last-Modified") else None
    )
    answer = get_conditional_response(
        request, etag=response["ETag"], last_modified=last_modified, response=response
    )
    return answer or response  # Django types it optional; given a response it returns one


JSON_TYPE = "application/json; charset=utf-8"


def dumps(data: Any, encoder: type[json.JSONEncoder] = DjangoJSONEncoder) -> str:
    """Every JSON answer's one rendering (the API's, its error pages', the site's JSON twins): compact,
    as GitHub's and Stripe's APIs answer, and UTF-8 rather than \\u escapes (the type says charset)."""
    return json.dumps(data, cls=encoder, ensure_ascii=False, separators=(",", ":"))


def json_answer(data: Any, status: int = 200) -> HttpResponse:
    """A JSON response rendered by `dumps`: Django's JsonResponse would render it spaced."""
    return HttpResponse(dumps(data), status=status, content_type=JSON_TYPE)


def retry_later(error: str, seconds: int, status: int = 503) -> HttpResponse:
    """A 503 (or 429) a client should repeat: Retry-After, and the same seconds in the body as
    `retryAfter`. `retry_after` repeats them until 0.2: the API's one snake_case key before its
    names were all camelCase, kept for the clients that read it (docs/site.md, API)."""
    resp = json_answer({"error": error, "retryAfter": seconds, "retry_after": seconds}, status)
    resp["Retry-After"] = str(seconds)
    return resp
