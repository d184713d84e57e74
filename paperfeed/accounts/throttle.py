"""Rate limits of the site in one place, answered with 429 + Retry-After (RELIABILITY S3-S5, L8).

Figures follow warehouse (login 10 per 5 min per account and IP; register 10 per 5 min; reset 5 a
day), ASVS 2.2.1 (under 100 failed logins per hour per account: we cap at 50) and Mastodon (300 API
requests per 5 min per IP). Every check runs before any costly work such as password hashing.
The digest subscription form's (paperfeed.digests) are here too: warehouse's 3 confirmation mails per
6 h for an address, and 30 requests an hour from one client.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from paperfeed.core import clock, ratelimit
from paperfeed.core.http import retry_seconds, too_many_requests
from paperfeed.core.text import per


@dataclass(frozen=True)
class Limit:
    limit: int
    window: int  # seconds
    # Strict limits count denied hits too (hammering keeps a client out) and decide on the count
    # after this hit, which the database increments atomically: a burst cannot slip past the limit.
    strict: bool = False
    # What is counted, in a reader's words: the scope's name ("submit:user") is internal. A limit
    # without it (a test's stand-in) is described by its figures alone.
    what: str = ""

    @property
    def description(self) -> str:
        """The limit as a 429 names it: "paper submissions: 20 an hour"."""
        figures = f"{self.limit:,} {per(self.window)}"
        return f"{self.what}: {figures}" if self.what else figures


LIMITS: dict[str, Limit] = {
    "login:account-ip": Limit(10, 300, strict=True, what="sign-in attempts on one account from one address"),
    "login:account": Limit(50, 3600, strict=True, what="sign-in attempts on one account"),
    "login:ip": Limit(30, 300, strict=True, what="sign-in attempts from one address"),
    "signup:ip": Limit(10, 300, what="new accounts from one address"),
    "signup:ip-hour": Limit(30, 3600, what="new accounts from one address"),
    "reset:account": Limit(5, 86_400, what="password reset mails for one account"),
    "reset:ip": Limit(10, 3600, what="password reset requests from one address"),
    "verify-resend:user": Limit(3, 6 * 3600, what="verification mails sent again"),
    # Each sends two mails, one to an address not yet proven.
    "email-change:user": Limit(3, 6 * 3600, what="email address changes"),
    "submit:user": Limit(20, 3600, what="paper submissions"),
    "vote:user": Limit(30, 60, what="upvotes and their removals"),
    "comment:user": Limit(10, 300, what="comments"),
    "report:user": Limit(10, 3600, what="reports"),
    "api:ip": Limit(300, 300, what="API requests from one address"),
    # /subscribe's: "address" alone would read as the email address on that form.
    "subscribe:email": Limit(3, 6 * 3600, what="confirmation mails asked for one email address"),
    "subscribe:ip": Limit(30, 3600, what="digest subscription requests from one network"),
}


class RateLimited(Exception):
    """A limit met. Its message is what its 429 says (core.http.too_many_requests: the limit in
    words, the wait as its Retry-After holds it), so a log or a page showing str(exc) says nothing
    the reader was not told; the internal scope ("vote:user") is `scope`, for logs and headers."""

    def __init__(self, scope: str, retry_after: int) -> None:
        self.scope, self.retry_after = scope, retry_after
        super().__init__(too_many_requests(self.description, self.wait))

    @property
    def longest_wait(self) -> int:
        return longest_wait(self.scope)

    @property
    def description(self) -> str:
        return LIMITS[self.scope].description

    @property
    def wait(self) -> int:
        """The whole seconds its 429 says (Retry-After), for a message to say the same."""
        return retry_seconds(self.retry_after, self.longest_wait)


def longest_wait(scope: str) -> int:
    """The most the limit `scope` can make anyone wait (two of its windows): what a Retry-After for
    it is held to, rather than to an hour (reset's limit is 5 a day)."""
    return ratelimit.longest_wait(LIMITS[scope].window)


# The limits checked while a request is answered, by scope, for the API's RateLimit headers.
_checked: ContextVar[dict[str, ratelimit.Decision] | None] = ContextVar("throttle_checked", default=None)


@contextmanager
def recording() -> Iterator[dict[str, ratelimit.Decision]]:
    """Collect the decision of each check made inside (the last per scope) into the dict yielded."""
    checked: dict[str, ratelimit.Decision] = {}
    token = _checked.set(checked)
    try:
        yield checked
    finally:
        _checked.reset(token)


def check(scope: str, key: str) -> None:
    """Count one hit of `scope` for `key`; raise RateLimited when over the limit."""
    lim = LIMITS[scope]
    d = ratelimit.hit(scope, key.lower(), limit=lim.limit, window=lim.window, count_denied=lim.strict)
    checked = _checked.get()
    if checked is not None:
        checked[scope] = d
    if lim.strict and d.allowed and d.count > lim.limit:
        # A concurrent hit took the last room: its hits weigh until the next window ends at most.
        raise RateLimited(scope, ratelimit.longest_wait(lim.window))  # an upper bound
    if not d.allowed:
        raise RateLimited(scope, d.retry_after)


def peek(scope: str, key: str) -> None:
    """Raise RateLimited if a hit of `scope` for `key` would be refused now, counting nothing: for a
    request that meets several limits and may count against one only once the others let it through."""
    lim = LIMITS[scope]
    d = ratelimit.peek(scope, key.lower(), limit=lim.limit, window=lim.window)
    if not d.allowed:
        raise RateLimited(scope, d.retry_after)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the entry PAPERFEED_PROXY_COUNT hops back in
    X-Forwarded-For when that many trusted proxies stand in front (never a client-chosen entry)."""
    hops = settings.PROXY_COUNT
    if hops:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return str(request.META.get("REMOTE_ADDR", ""))


def ratelimit_headers(checked: dict[str, ratelimit.Decision]) -> dict[str, str]:
    """draft-ietf-httpapi-ratelimit-headers (-09/-10) fields for the limits a request met, as
    Structured Field lists: `RateLimit-Policy: "api:ip";q=300;w=300` (the policy: quota and window)
    and `RateLimit: "api:ip";r=297;t=540` (what is left now, and the seconds until all of it is
    free again). The windows slide (core.ratelimit), so room comes back gradually before `t`."""
    if not checked:
        return {}
    policy, now = [], []
    for scope, d in checked.items():
        policy.append(f'"{scope}";q={d.limit};w={math.ceil(LIMITS[scope].window / clock.scale())}')
        now.append(f'"{scope}";r={d.remaining};t={d.reset}')
    return {"RateLimit-Policy": ", ".join(policy), "RateLimit": ", ".join(now)}
