"""Conditional GET for documents that clients poll (the JSON API's public reads, the RSS/Atom feeds):
an ETag from the body, so a client's If-None-Match gets 304 exactly while the bytes are the same, and
If-Modified-Since answered from the response's own Last-Modified when it has one (RFC 9110 §13.2.2:
If-None-Match wins when both are sent). Django's ConditionalGetMiddleware does the same for GET only;
this one also serves HEAD and is applied where it is meant, not to every page of the site."""

from __future__ import annotations

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
