from __future__ import annotations

import json

from paperfeed.core.http import MAX_RETRY_AFTER, retry_later, retry_seconds, too_many_requests


def test_retry_seconds_are_whole_never_zero_and_an_hour_at_most_unless_said() -> None:
    assert retry_seconds(0) == retry_seconds(-5) == 1  # told 0, a client hammers
    assert retry_seconds(41.2) == 42  # rounded up: a client back on time is let through
    assert retry_seconds(86_400) == MAX_RETRY_AFTER == 3600
    # A caller that knows the wait to be longer (a rate limit's, up to two of its windows) says it:
    # a client told an hour of it was refused again when it came back.
    assert retry_seconds(9900, most=12 * 3600) == 9900
    assert retry_seconds(86_400, most=12 * 3600) == 12 * 3600


def test_retry_later_says_the_same_wait_in_the_header_and_the_body() -> None:
    resp = retry_later("too many", 9900, 429, most=12 * 3600)
    assert resp.status_code == 429 and resp["Retry-After"] == "9900"
    assert json.loads(resp.content) == {"error": "too many", "retryAfter": 9900, "retry_after": 9900}
    assert retry_later("down", 9900)["Retry-After"] == "3600"


def test_too_many_requests_names_the_limit_when_there_is_one() -> None:
    assert too_many_requests("comments: 10 per 5 minutes", 300) == (
        "too many requests (comments: 10 per 5 minutes); try again in about 5 minutes"
    )
    assert too_many_requests("", 42) == "too many requests; try again in about a minute"  # no "()"
