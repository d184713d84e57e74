"""The rate limits' definitions (accounts.throttle.LIMITS): each says in words what it counts."""

from __future__ import annotations

import pytest

from paperfeed.accounts import throttle
from paperfeed.core.http import too_many_requests


def test_every_limit_has_a_description_a_reader_can_take() -> None:
    for scope, lim in throttle.LIMITS.items():
        assert lim.what and scope not in lim.description, scope
        assert lim.description.startswith(f"{lim.what}: {lim.limit:,} "), lim.description
    assert throttle.LIMITS["submit:user"].description == "paper submissions: 20 an hour"
    assert throttle.LIMITS["comment:user"].description == "comments: 10 per 5 minutes"
    assert throttle.LIMITS["reset:account"].description.endswith(": 5 a day")
    assert throttle.Limit(3, 6 * 3600).description == "3 per 6 hours"  # a stand-in without words


@pytest.mark.django_db(transaction=True)
def test_a_peek_refuses_as_a_check_would_and_counts_nothing(rate_counters: str) -> None:
    # /subscribe looks at an address's limit before the client's is counted, and counts it last.
    lim = throttle.LIMITS["subscribe:email"]
    for _ in range(lim.limit):
        throttle.peek("subscribe:email", "reader@example.org")  # counts nothing: never refused
    for _ in range(lim.limit):
        throttle.check("subscribe:email", "Reader@Example.org")  # the same key, as check takes it
    with pytest.raises(throttle.RateLimited) as refused:
        throttle.peek("subscribe:email", "reader@example.org")
    assert refused.value.scope == "subscribe:email"
    assert 1 <= refused.value.wait <= throttle.longest_wait("subscribe:email") == 2 * lim.window


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(42, "about a minute"), (10**6, "about 2 minutes"), (0, "about a minute"), (95, "about 2 minutes")],
)
def test_a_refusal_says_in_words_what_its_429_says(seconds: int, words: str) -> None:
    # A log line or a page that shows str(exc) said "too many requests (vote:user); retry in 42 s":
    # the scope is internal, and the seconds were not the ones its 429 sends (held to two windows).
    refused = throttle.RateLimited("vote:user", seconds)
    said = f"too many requests (upvotes and their removals: 30 a minute); try again in {words}"
    assert str(refused) == said == too_many_requests(refused.description, refused.wait)
    assert "vote:user" not in str(refused) and refused.scope == "vote:user"  # kept for logs and headers
    assert refused.retry_after == seconds  # the limiter's own figure, as it said it
