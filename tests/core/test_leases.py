import socket
import subprocess
import sys

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
