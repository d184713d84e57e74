import threading

import pytest
from django.db import connection

from paperfeed.core import ratelimit
from tests.fakes import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, rate_counters: str) -> list[float]:
    """A frozen clock, with the counters in the database and then in Redis."""
    return clock.freeze(monkeypatch, [1_000_000.0])


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


@pytest.mark.parametrize(
    ("limit", "window", "first", "hits", "then"),
    [
        (3, 60, 1_000_000.0, 3, 0),  # this window full: its hits weigh on into the next
        (7, 300, 299.0, 7, 2),  # the previous window full, this one empty: 1/7 of it must decay
        (7, 300, 100.0, 4, 301),  # hits in both windows, the wait ends inside this one
        (10, 600, 599.0, 10, 602),  # ten in a window's last second: a float wait landed a hair short
        (30, 3600, 2700.0, 30, 0),  # /subscribe's per-client limit, 15 minutes before the edge
        (3, 6 * 3600, 18_900.0, 3, 0),  # its per-address limit, 45 minutes before the edge
    ],
)
def test_waiting_exactly_retry_after_is_admitted_a_second_less_is_not(
    frozen: list[float], limit: int, window: int, first: float, hits: int, then: int
) -> None:
    """The wait a refusal gives is exact: the estimate, exactly at the limit then, is admitted. It
    was a refusal again when this window was full (its hits were met whole in the next window) and
    could be by a float's rounding anywhere."""
    frozen[0] = first
    for _ in range(hits):
        assert ratelimit.hit("api", "ip", limit=limit, window=window).allowed
    frozen[0] += then
    while ratelimit.hit("api", "ip", limit=limit, window=window).allowed:  # fill what is left
        pass
    refused = ratelimit.hit("api", "ip", limit=limit, window=window)
    assert not refused.allowed and refused.retry_after <= ratelimit.longest_wait(window)
    at = frozen[0]
    frozen[0] = at + refused.retry_after - 1
    assert not ratelimit.hit("api", "ip", limit=limit, window=window).allowed  # (a refusal: not counted)
    frozen[0] = at + refused.retry_after
    assert ratelimit.hit("api", "ip", limit=limit, window=window).allowed


def test_a_full_window_waits_into_the_next_until_its_hits_have_decayed(frozen: list[float]) -> None:
    frozen[0] = 0.0
    for _ in range(3):
        ratelimit.hit("api", "ip", limit=3, window=60)
    # Two of the three hits' weight may remain for a third hit: a third of the next window.
    assert ratelimit.hit("api", "ip", limit=3, window=60).retry_after == 60 + 20


def test_peek_decides_as_hit_would_and_counts_nothing(frozen: list[float]) -> None:
    for _ in range(5):
        assert ratelimit.peek("api", "ip", limit=2, window=60).allowed
    assert ratelimit.peek("api", "ip", limit=2, window=60).count == 1  # the hit it would let through
    got = [ratelimit.hit("api", "ip", limit=2, window=60) for _ in range(3)]
    assert [d.allowed for d in got] == [True, True, False]
    refused = ratelimit.peek("api", "ip", limit=2, window=60)
    assert not refused.allowed and refused.retry_after == got[-1].retry_after


def test_retry_after_is_in_real_seconds_under_a_scaled_clock(
    frozen: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit.clock, "scale", lambda: 100.0)
    frozen[0] = 0.0
    ratelimit.hit("x", "k", limit=1, window=300)
    # With a limit of one, its hit weighs until the next window ends: 600 scaled seconds.
    assert ratelimit.hit("x", "k", limit=1, window=300).retry_after == 6


# §4c: the clock jumps (an NTP step, a VM resumed, a clock set by hand). Counters are keyed by wall
# time, so a jump back meets the windows already counted and a jump forward meets empty ones.
LIMIT, WINDOW, HOUR, DAY = 10, 60, 3600, 86_400


def _steady(now: list[float], seconds: int) -> int:
    """A client that keeps to its limit (a hit every WINDOW / LIMIT seconds) for `seconds`; how
    many hits were allowed (about nine in ten: at exactly the limit, the estimate is often on it)."""
    allowed = 0
    for _ in range(seconds * LIMIT // WINDOW):
        allowed += ratelimit.hit("api", "ip", limit=LIMIT, window=WINDOW).allowed
        now[0] += WINDOW / LIMIT
    return allowed


def _wait_until_allowed(now: list[float], scope: str = "api", **kw: object) -> float:
    """Retry the way a polite client does (sleep for Retry-After); the seconds it waited."""
    waited = 0.0
    while not (d := ratelimit.hit(scope, "ip", limit=LIMIT, window=WINDOW, **kw)).allowed:  # type: ignore[arg-type]
        assert d.retry_after <= WINDOW, d
        now[0] += d.retry_after
        waited += d.retry_after
        assert waited <= HOUR, "still refused an hour later"
    return waited


def test_a_clock_jump_back_does_not_lock_a_client_out(frozen: list[float]) -> None:
    """On Redis too: its counters were not rebased, and a frozen clock does not move the real time
    they expired by, so the client met its whole past hour again (4 of 600 hits allowed)."""
    before = _steady(frozen, HOUR)
    frozen[0] -= HOUR  # the hour it just spent counting is now ahead of the clock
    assert _wait_until_allowed(frozen) <= 2 * WINDOW
    # And it keeps its pace afterwards: the hour it spent is not replayed against it (it was:
    # 4 of 600 hits allowed in the hour after the jump).
    after = _steady(frozen, HOUR)
    assert after >= before - 2 * LIMIT, (before, after)


def test_a_clock_jump_back_keeps_a_client_at_its_limit_refused(frozen: list[float]) -> None:
    """On Redis too: one refused before the jump met empty windows after it."""
    for _ in range(3 * LIMIT):  # hammering, each refusal counted (the log-in limits' mode)
        ratelimit.hit("login", "ip", limit=LIMIT, window=WINDOW, count_denied=True)
    frozen[0] -= HOUR
    refused = ratelimit.hit("login", "ip", limit=LIMIT, window=WINDOW, count_denied=True)
    assert not refused.allowed and 1 <= refused.retry_after <= 2 * WINDOW  # 31 hits decay into the next


def test_a_clock_jump_forward_grants_one_window_not_unlimited(frozen: list[float]) -> None:
    for _ in range(LIMIT):
        assert ratelimit.hit("api", "ip", limit=LIMIT, window=WINDOW).allowed
    frozen[0] += 86_400  # a day ahead: every counter it can see is empty
    got = [ratelimit.hit("api", "ip", limit=LIMIT, window=WINDOW) for _ in range(5 * LIMIT)]
    assert sum(d.allowed for d in got) == LIMIT  # a fresh window, as after a real day's pause
    assert 1 <= got[-1].retry_after <= WINDOW
    # Back again (the step corrected): the hits made while ahead still count against the client.
    frozen[0] -= 86_400
    assert not ratelimit.hit("api", "ip", limit=LIMIT, window=WINDOW).allowed
    assert _wait_until_allowed(frozen) <= 2 * WINDOW


def test_web_machines_whose_clocks_disagree_count_in_the_same_windows(
    monkeypatch: pytest.MonkeyPatch, rate_counters: str
) -> None:
    """The counters go by their store's clock, the database's (read in the statement that reads
    them) or Redis's: a machine a day ahead met empty windows and let the client through again (and
    its counters, ahead of the others' clocks, were then rebased as a jump back)."""
    for _ in range(LIMIT):
        assert ratelimit.hit("api", "ip", limit=LIMIT, window=HOUR).allowed
    real = ratelimit.clock.wall
    monkeypatch.setattr(ratelimit.clock, "wall", lambda: real() + DAY)  # another machine, a day ahead
    refused = ratelimit.hit("api", "ip", limit=LIMIT, window=HOUR)
    assert not refused.allowed and refused.count > LIMIT - 1  # (an hour's edge may pass meanwhile)
    monkeypatch.setattr(ratelimit.clock, "wall", real)
    assert ratelimit.hit("api", "ip", limit=LIMIT, window=HOUR).count > LIMIT - 1  # its hits unmoved


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a read-only SQLite connection")
def test_a_read_only_database_lets_hits_through_uncounted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A limit that cannot be counted must not turn every read into an error (§4c, read-only file)."""
    clock.freeze(monkeypatch, [1_000_000.0])  # the database's counters only
    with connection.cursor() as cur:
        cur.execute("PRAGMA query_only = 1")
    try:
        got = [ratelimit.hit("api", "ip", limit=2, window=60) for _ in range(5)]
    finally:
        with connection.cursor() as cur:
            cur.execute("PRAGMA query_only = 0")
    assert all(d.allowed for d in got)
    assert "the database is read-only" in caplog.text
    assert ratelimit.hit("api", "ip", limit=2, window=60).count == 1  # nothing was counted meanwhile


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count_denied", [False, True], ids=["refusals-uncounted", "refusals-counted"])
def test_concurrent_hits_are_let_through_up_to_the_limit_only(
    frozen: list[float], count_denied: bool
) -> None:
    """Each hit is decided in the step that counts it. Decided by a look before the count, every hit
    that looked before any was counted got through: a client with one hit left got all it sent (and
    with its refusals counted, the log-in limits' mode, it still did until 2026-12)."""
    for _ in range(LIMIT - 1):
        assert ratelimit.hit("api", "racing", limit=LIMIT, window=HOUR, count_denied=count_denied).allowed
    threads_n = 6
    lined_up = threading.Barrier(threads_n, timeout=30)
    got: list[bool] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            lined_up.wait()
            got.append(
                ratelimit.hit("api", "racing", limit=LIMIT, window=HOUR, count_denied=count_denied).allowed
            )
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()  # a thread's connection would otherwise outlive the test database

    threads = [threading.Thread(target=one) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(got) == [False] * (threads_n - 1) + [True]
    # The refused are counted only when asked.
    counted = LIMIT - 1 + threads_n if count_denied else LIMIT
    assert ratelimit.peek("api", "racing", limit=LIMIT, window=HOUR).count == counted
