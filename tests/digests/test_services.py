"""digests.services.subscribe under concurrent requests, with the real limiter (database and Redis)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from paperfeed.accounts import throttle
from paperfeed.core import ratelimit
from paperfeed.digests import services
from tests.fakes import clock

THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_a_request_the_networks_limit_refuses_spends_none_of_its_addresss_confirmations(
    monkeypatch: pytest.MonkeyPatch, rate_counters: str
) -> None:
    """Requests from one network for different addresses, when it has one request left: each
    refused by the network's limit must leave its address's three confirmations whole, and only one
    gets through. The client's limit used to be looked at, then the address's counted, then the
    client's: every request passed the look, and all but one were refused at the count with an
    address's confirmation spent. And a count let through every hit its look had (all six here)."""
    network = throttle.LIMITS["subscribe:ip"]
    clock.freeze(monkeypatch, [1000.0 * network.window])
    ip = "198.51.100.7"
    for _ in range(network.limit - 1):
        throttle.check("subscribe:ip", ip)
    # Each thread's count against the network waits until every thread has got that far: the
    # race at its widest, whatever the scheduler does.
    lined_up = threading.Barrier(THREADS, timeout=30)
    real_hit = ratelimit.hit

    def hit_when_all_are_there(scope: str, key: str, **kw: int) -> ratelimit.Decision:
        if scope == "subscribe:ip":
            lined_up.wait()
        return real_hit(scope, key, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ratelimit, "hit", hit_when_all_are_there)
    outcomes: dict[str, services.Accepted | throttle.RateLimited] = {}
    errors: list[BaseException] = []

    def ask(address: str) -> None:
        try:
            outcomes[address] = services.subscribe(address, ip=ip)
        except throttle.RateLimited as e:
            outcomes[address] = e
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()  # a thread's connection would otherwise outlive the test database

    addresses = [f"reader{i}@example.org" for i in range(THREADS)]
    threads = [threading.Thread(target=ask, args=(a,)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(outcomes) == THREADS
    refusals = {a: got for a, got in outcomes.items() if isinstance(got, throttle.RateLimited)}
    assert {e.scope for e in refusals.values()} == {"subscribe:ip"}
    refused = list(refusals)
    assert len(refused) == THREADS - 1  # one room left, taken once: the look and the count are one step
    for address in refused:
        email = throttle.LIMITS["subscribe:email"]
        left = ratelimit.peek("subscribe:email", address, limit=email.limit, window=email.window)
        assert left.count == 1, address  # the request it would let through, and none counted before
