import pytest

from paperfeed.core import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000_000.0]
    monkeypatch.setattr(ratelimit.clock, "wall", lambda: now[0])
    return now


def test_allows_up_to_the_limit_then_says_when(frozen: list[float]) -> None:
    got = [ratelimit.hit("login", "1.2.3.4", limit=3, window=60) for _ in range(4)]
    assert [d.allowed for d in got] == [True, True, True, False]
    assert 1 <= got[-1].retry_after <= 60
    assert ratelimit.hit("login", "5.6.7.8", limit=3, window=60).allowed  # another key, its own count
    assert ratelimit.hit("signup", "1.2.3.4", limit=3, window=60).allowed  # another scope too


def test_denied_hits_are_not_counted_unless_asked(frozen: list[float]) -> None:
    for _ in range(10):
        ratelimit.hit("vote", "u1", limit=2, window=60)
    frozen[0] += 120  # two windows later nothing of it remains
    assert ratelimit.hit("vote", "u1", limit=2, window=60).allowed


def test_sliding_estimate_has_no_burst_at_the_window_edge(frozen: list[float]) -> None:
    frozen[0] = 600.0 - 1  # one second before a window ends
    assert all(ratelimit.hit("api", "ip", limit=10, window=600).allowed for _ in range(10))
    frozen[0] = 600.0 + 1  # a fixed window would allow ten more here
    denied = ratelimit.hit("api", "ip", limit=10, window=600)
    assert not denied.allowed
    frozen[0] += denied.retry_after
    assert ratelimit.hit("api", "ip", limit=10, window=600).allowed


def test_retry_after_is_in_real_seconds_under_a_scaled_clock(
    frozen: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit.clock, "scale", lambda: 100.0)
    frozen[0] = 0.0
    ratelimit.hit("x", "k", limit=1, window=300)
    assert ratelimit.hit("x", "k", limit=1, window=300).retry_after == 3
