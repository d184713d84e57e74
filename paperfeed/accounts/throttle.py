"""Rate limits of the site in one place, answered with 429 + Retry-After (RELIABILITY S3-S5, L8).

Figures follow warehouse (login 10 per 5 min per account and IP; register 10 per 5 min; reset 5 a
day), ASVS 2.2.1 (under 100 failed logins per hour per account: we cap at 50) and Mastodon (300 API
requests per 5 min per IP). Every check runs before any costly work such as password hashing.
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


@dataclass(frozen=True)
class Limit:
    limit: int
    window: int  # seconds
    # Strict limits count denied hits too (hammering keeps a client out) and decide on the count
    # after this hit, which the database increments atomically: a burst cannot slip past the limit.
    strict: bool = False


LIMITS: dict[str, Limit] = {
    "login:account-ip": Limit(10, 300, strict=True),
    "login:account": Limit(50, 3600, strict=True),
    "login:ip": Limit(30, 300, strict=True),
    "signup:ip": Limit(10, 300),
    "signup:ip-hour": Limit(30, 3600),
    "reset:account": Limit(5, 86_400),
    "reset:ip": Limit(10, 3600),
    "verify-resend:user": Limit(3, 6 * 3600),
    "email-change:user": Limit(3, 6 * 3600),  # each sends two mails, one to an address not yet proven
    "submit:user": Limit(20, 3600),
    "vote:user": Limit(30, 60),
    "comment:user": Limit(10, 300),
    "report:user": Limit(10, 3600),
    "api:ip": Limit(300, 300),
}


class RateLimited(Exception):
    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"too many requests ({scope}); retry in {retry_after} s")
        self.scope, self.retry_after = scope, retry_after

    @property
    def longest_wait(self) -> int:
        return longest_wait(self.scope)


def longest_wait(scope: str) -> int:
    """The most the limit `scope` can make anyone wait (two of its windows): what a Retry-After for
    it is held to, as /subscribe's is, rather than to an hour (reset's limit is 5 a day)."""
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
