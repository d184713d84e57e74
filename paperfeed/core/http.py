"""Conditional GET for documents that clients poll (the JSON API's public reads, the RSS/Atom feeds):
an ETag from the body, so a client's If-None-Match gets 304 exactly while the bytes are the same, and
If-Modified-Since answered from the response's own Last-Modified when it has one (RFC 9110 §13.2.2:
If-None-Match wins when both are sent). Django's ConditionalGetMiddleware does the same for GET only;
this one also serves HEAD and is applied where it is meant, not to every page of the site.

And the one rendering of every JSON answer (`dumps`, `json_answer`), the one shape of an answer to
repeat later (`retry_later`: every 429 and 503 of the API and the site's JSON, `rate_limited` and
`too_many_requests` for a rate limit's 429; `retry_later_page`, its twin for a page), and the one way a key
renamed to camelCase keeps its 0.1 name until 0.2 (`with_old_keys`, `camel_keys_read`; `camel_keys`
for the command line's `--json` documents)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import parse_http_date_safe

from paperfeed.core.text import about, sentence


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


def snake_case(name: str) -> str:
    """A camelCase key's 0.1 name: `retryAfter` -> `retry_after`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel_case(name: str) -> str:
    """A snake_case name's camelCase: `send_hour` -> `sendHour`."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def with_old_keys(data: dict[str, Any], *renamed: str) -> dict[str, Any]:
    """`data` with each of its `renamed` camelCase keys also under the snake_case name it had before
    every key of the API was camelCase, the same value, until 0.2: a 0.1 client reads the key it
    knows for one more release (a key gone reads as null, not as an error). The schema marks the old
    name deprecated (api.schemas.old_name)."""
    return data | {snake_case(k): data[k] for k in renamed if k in data}


# A key with_old_keys can carry both ways: lower-case words joined by "_", each starting with a
# letter (a word starting with a digit would come back from its camelCase glued to the one before).
_SNAKE_KEY = re.compile(r"[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+")


def camel_keys(data: Any, verbatim: Collection[str] = ()) -> Any:
    """`data` (a command's `--json` document) with the keys of every object in it camelCase, as the
    API's are, each renamed one also under its snake_case name until 0.2 (with_old_keys, the same
    deprecation the API's renamed keys have). The objects under a `verbatim` key are maps keyed by
    data (a table's name, a digest's label), not by field names: they are kept as they are."""
    if isinstance(data, list | tuple):
        return [camel_keys(v, verbatim) for v in data]
    if not isinstance(data, dict):
        return data
    out: dict[Any, Any] = {}
    renamed = []
    for key, value in data.items():
        new = camel_case(key) if isinstance(key, str) and _SNAKE_KEY.fullmatch(key) else key
        if new != key:
            renamed.append(new)
        out[new] = value if new in verbatim else camel_keys(value, verbatim)
    return with_old_keys(out, *renamed)


class SpelledTwice(ValueError):
    """A field sent under both its names with different values: which one was meant is unknown."""


def camel_keys_read(data: QueryDict, renamed: Mapping[str, str]) -> QueryDict:
    """Input that takes both spellings of a renamed field (`renamed`: camelCase name -> the form's
    0.1 name), as the form's names: a client may send either, or both with the same value."""
    out = data.copy()
    for new, old in renamed.items():
        if new not in out:
            continue
        values = out.getlist(new)
        if old in out and out.getlist(old) != values:
            raise SpelledTwice(
                f"{new} and {old} are the same field (the second its name until 0.2): send one"
            )
        del out[new]
        out.setlist(old, values)
    return out


# What retry_later's seconds are held to: a client is never told 0 (it would hammer), nor, unless the
# caller knows the wait to be longer (a rate limit's, up to two of its windows), more than an hour
# (whatever asked for it, a client should look again within one).
MIN_RETRY_AFTER, MAX_RETRY_AFTER = 1, 3600


def retry_seconds(seconds: float, most: int = MAX_RETRY_AFTER) -> int:
    """The whole seconds a Retry-After says for a wait of `seconds`, held to 1 s - `most` (an hour
    unless said): also the header of an HTML page's 429, which has no JSON body. RFC 9110 allows
    any delay, and a client told less than the true wait is refused again when it comes back."""
    return min(max(math.ceil(seconds), MIN_RETRY_AFTER), most)


def retry_later(
    error: str,
    seconds: float,
    status: int = 503,
    also: Mapping[str, Any] | None = None,
    most: int = MAX_RETRY_AFTER,
    limit: str = "",
) -> HttpResponse:
    """Every answer a client should repeat later (each 429 and 503 of the API, the site's JSON 429s):
    `{"error", "retryAfter"}` and the same whole seconds in Retry-After (retry_seconds, held to
    `most`), and `limit`, the rate limit met in words (accounts.throttle.Limit.description), when one
    was. `retry_after` repeats the seconds until 0.2 (with_old_keys): the API's one snake_case key
    before its names were all camelCase, kept for the clients that read it (docs/site.md, API).
    `also`: keys an endpoint sends in every other answer of its own, so that its clients find them
    in this one too."""
    wait = retry_seconds(seconds, most)
    data = dict(also or {}) | with_old_keys({"error": error, "retryAfter": wait}, "retryAfter")
    if limit:
        data["limit"] = limit
    resp = json_answer(data, status)
    resp["Retry-After"] = str(wait)
    return resp


def too_many_requests(limit: str, seconds: int) -> str:
    """What a 429 of the rate limit `limit` (Limit.description) says, `seconds` in words (the exact
    seconds are in Retry-After and `retryAfter`): every JSON 429's `error`, `RateLimited`'s message,
    and, as a sentence (core.text.sentence), the 429 page's, /subscribe's `message` and what the
    site's script shows beside a refused vote. The scope's name ("vote:user") is not said: it is
    internal, and only RateLimit-Policy, whose entries are identifiers, and RateLimited.scope carry
    it."""
    named = f" ({limit})" if limit else ""
    return f"too many requests{named}; try again in {about(seconds)}"


def rate_limited(
    seconds: float, most: int, limit: str, also: Mapping[str, Any] | None = None
) -> HttpResponse:
    """The JSON 429 of a rate limit met, the API's and the site's alike: retry_later with `error`
    from too_many_requests and `limit`, the wait held to `most` (the longest that limit can make
    anyone wait)."""
    wait = retry_seconds(seconds, most)
    return retry_later(too_many_requests(limit, wait), wait, status=429, also=also, most=most, limit=limit)


def retry_later_page(
    request: HttpRequest,
    template: str,
    seconds: float,
    status: int = 503,
    most: int = MAX_RETRY_AFTER,
    reason: str = "",
    limit: str = "",
) -> HttpResponse:
    """retry_later's HTML twin, a page of the site (429.html, 503.html): the wait in words
    (core.text.about, as a reader plans by) and the same whole seconds in Retry-After, held alike;
    a 429's sentence (`said`) is the JSON 429's `error` (too_many_requests, naming the limit met)
    as a sentence, so the page and a script showing the JSON say the same (the template escapes
    it as any text)."""
    wait = retry_seconds(seconds, most)
    said = sentence(too_many_requests(limit, wait)) if status == 429 else ""
    context = {"wait": about(wait), "reason": reason, "said": said}
    resp = render(request, template, context, status=status)
    resp["Retry-After"] = str(wait)
    return resp
