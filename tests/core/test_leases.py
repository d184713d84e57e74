import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from paperfeed.core import clock, leases
from paperfeed.core.models import Lease

pytestmark = pytest.mark.django_db


def test_one_holder_at_a_time_until_it_releases_or_expires() -> None:
    other = f"{socket.gethostname()}:1:{leases._start_time(1)}"  # a live process (init)
    Lease.objects.create(name="job", holder=other, expires_at=clock.wall() + 60)
    assert leases.try_acquire("job", ttl=60) is None
    Lease.objects.filter(name="job").update(expires_at=clock.wall() - 1)
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    held.renew()
    held.release()
    assert Lease.objects.get(name="job").holder == ""


def test_a_dead_holder_on_this_machine_is_taken_over_at_once() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:12345"
    Lease.objects.create(name="job", holder=dead, expires_at=clock.wall() + 3600)
    assert leases.try_acquire("job", ttl=60) is not None


def test_a_holder_on_another_machine_is_waited_for() -> None:
    Lease.objects.create(name="job", holder="elsewhere:1:1", expires_at=clock.wall() + 3600)
    assert leases.try_acquire("job", ttl=60) is None


def test_renew_fences_a_holder_whose_lease_was_taken_over() -> None:
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    Lease.objects.filter(name="job").update(holder="elsewhere:1:1")
    with pytest.raises(leases.LeaseLost):
        held.renew()


def test_renew_fails_once_the_lease_expired_even_if_nobody_took_it() -> None:
    """An expired lease is one try_acquire hands to anyone: renewing it used to succeed silently,
    so a holder that stalled past the expiry went on as if nothing had happened."""
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    Lease.objects.filter(name="job").update(expires_at=clock.wall() - 1)
    with pytest.raises(leases.LeaseExpired):
        held.renew()
    assert Lease.objects.get(name="job").expires_at < clock.wall()  # not extended
    # Work that tolerates the gap takes it back, as nobody held it in between...
    held.resume()
    held.renew()
    assert Lease.objects.get(name="job").expires_at > clock.wall() + 50
    # ...but not after another holder ran, even one that has released it since.
    Lease.objects.filter(name="job").update(holder="", expires_at=0)
    with pytest.raises(leases.LeaseLost) as lost:
        held.resume()
    assert not isinstance(lost.value, leases.LeaseExpired)
    with pytest.raises(leases.LeaseLost):
        held.renew()


def test_left_counts_down_from_the_last_renewal_by_this_process_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    assert 0 < held.left() <= 60
    now = clock.monotonic()
    monkeypatch.setattr(clock, "monotonic", lambda: now + 61)  # this process stalled for 61 s
    assert held.left() < 0


# --- the database's clock --------------------------------------------------------------------------


def test_a_process_whose_clock_runs_ahead_cannot_take_a_live_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another machine holds the lease for a minute more, by the database's clock. This machine's
    clock runs an hour ahead: judged by it, the lease had long expired and was taken over (two
    holders at once). Now the database's clock judges, and stamps what this process takes."""
    Lease.objects.create(name="job", holder="elsewhere:1:1", expires_at=clock.db_wall() + 60)
    real = clock.wall
    monkeypatch.setattr(clock, "wall", lambda: real() + 3600)
    assert leases.try_acquire("job", ttl=60) is None
    Lease.objects.filter(name="job").update(expires_at=clock.db_wall() - 1)  # it stopped renewing
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    stamped = Lease.objects.get(name="job").expires_at
    assert stamped <= clock.db_wall() + 60  # not this process's hour ahead
    # The other machine, its clock right, finds it held until then.
    monkeypatch.setattr(leases, "me", lambda: "elsewhere:1:1")
    monkeypatch.setattr(clock, "wall", real)
    assert leases.try_acquire("job", ttl=60) is None


def test_a_holder_whose_clock_runs_behind_cannot_renew_an_expired_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By a clock an hour slow the lease looked live for an hour after it expired: renew() went on
    as if it still held it while another machine could take it."""
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    Lease.objects.filter(name="job").update(expires_at=clock.db_wall() - 1)
    real = clock.wall
    monkeypatch.setattr(clock, "wall", lambda: real() - 3600)
    with pytest.raises(leases.LeaseExpired):
        held.renew()
    held.resume()
    assert Lease.objects.get(name="job").expires_at > clock.db_wall() + 50


def test_the_database_clock_counts_scaled_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    before = clock.wall()
    at = clock.db_wall()
    assert before - 5 < at < clock.wall() + 5  # one machine: the two clocks agree
    monkeypatch.setenv("PAPERFEED_TIME_SCALE", "100")
    assert abs(clock.db_wall() - 100 * at) < 500


# --- the heartbeat ---------------------------------------------------------------------------------
# Its thread has a database connection of its own: these tests commit what it must see.

EVERY = 0.05  # seconds between beats (the clock is not scaled here)


def _until(condition: Any, what: str) -> None:
    """Wait for `condition()` (bounded in tries, not asserting how long it took)."""
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _expires() -> float:
    return Lease.objects.get(name="job").expires_at


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_only_during_a_step_and_for_at_most_its_bound() -> None:
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    with leases.Heartbeat(held, every=EVERY) as beat:
        idle = _expires()
        time.sleep(5 * EVERY)
        assert beat.beats == 0 and _expires() == idle  # no step under way: nothing renewed
        with beat.working(3600):
            _until(lambda: beat.beats >= 2, "two renewals during the step")
        assert _expires() > idle
        # A step stuck past its bound (here 0.3 s): renewals stop although the step goes on.
        with beat.working(0.3):
            time.sleep(0.3)
            done = beat.beats
            last = _expires()
            time.sleep(5 * EVERY)
            assert beat.beats <= done + 1  # at most one in flight when the bound passed
            if beat.beats == done:
                assert _expires() == last
    assert not beat._thread.is_alive()
    after = _expires()
    time.sleep(3 * EVERY)
    assert _expires() == after  # stopped: nothing renews it any more


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", ["taken over", "expired"])
def test_the_heartbeat_never_takes_back_a_lease_it_lost(what: str) -> None:
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    with leases.Heartbeat(held, every=EVERY) as beat, beat.working(3600):
        if what == "taken over":
            Lease.objects.filter(name="job").update(holder="elsewhere:1:1")
        else:
            Lease.objects.filter(name="job").update(expires_at=clock.db_wall() - 1)
        _until(lambda: beat.lost is not None, "the heartbeat noticed")
        _until(lambda: not beat._thread.is_alive(), "the heartbeat stopped")
    lease = Lease.objects.get(name="job")
    if what == "taken over":
        assert type(beat.lost) is leases.LeaseLost and lease.holder == "elsewhere:1:1"
    else:
        assert isinstance(beat.lost, leases.LeaseExpired) and lease.expires_at < clock.db_wall()


@pytest.mark.django_db(transaction=True)
def test_a_holder_that_takes_a_lapsed_lease_back_has_it_renewed_again() -> None:
    """A holder suspended past the ttl (its heartbeat with it) finds the lease lapsed and takes it
    back; its heartbeat, which stopped on finding it lapsed, renewed nothing for the rest of the
    run, so the next long step let it lapse again, for another machine to take."""
    held = leases.try_acquire("job", ttl=60)
    assert held is not None
    with leases.Heartbeat(held, every=EVERY) as beat, beat.working(3600):
        Lease.objects.filter(name="job").update(expires_at=clock.db_wall() - 1)
        _until(lambda: not beat._thread.is_alive(), "the heartbeat stopped")
        assert isinstance(beat.lost, leases.LeaseExpired)
        beat.resume()
        assert beat.lost is None
        done = beat.beats
        _until(lambda: beat.beats >= done + 2, "renewals after the lease was taken back")
    assert _expires() > clock.db_wall() + 50
    # Taken over meanwhile: nothing to take back, and the heartbeat stays stopped.
    with leases.Heartbeat(held, every=EVERY) as beat, beat.working(3600):
        Lease.objects.filter(name="job").update(holder="elsewhere:1:1")
        _until(lambda: not beat._thread.is_alive(), "the heartbeat stopped")
        with pytest.raises(leases.LeaseLost):
            beat.resume()
        assert beat.lost is not None and not beat._thread.is_alive()
