"""Named leases: at most one live holder per name across processes and machines.

A holder renews its lease while it works; a lease whose holder stopped renewing expires after `ttl`.
A holder that died on this machine (SIGKILL) is recognised at once by its process id and start time,
so a re-run after a crash does not wait for the expiry. Every write that must happen only under the
lease calls `renew()` in the same transaction (a fence: if the lease expired or was taken over, it
raises). It treats an expired lease as lost even while nobody has taken it yet (LeaseExpired): what
was begun under the lapsed lease must not be finished as if it had held; work that tolerates a gap
takes the lease back with resume(), which fails if another holder ran in between.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from django.db import IntegrityError, transaction

from paperfeed.core import clock
from paperfeed.core.models import Lease


class LeaseLost(RuntimeError):
    """Another process holds the lease now, or may take it at any moment: stop writing."""


class LeaseExpired(LeaseLost):
    """The lease ran out while still ours (nobody has taken it yet). A holder whose work tolerates a
    gap takes it back with Held.resume(); one that must not act after a gap stops as for any loss."""


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def me() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def dead_here(holder: str) -> bool:
    """True if `holder` was a process on this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_time(int(pid)) != started


class Held:
    def __init__(self, name: str, ttl: float) -> None:
        self.name, self.ttl, self.holder = name, ttl, me()
        self._renewed = clock.monotonic()  # try_acquire stamps the lease after this

    def renew(self) -> None:
        """Extend the lease; raises LeaseExpired if it ran out meanwhile and LeaseLost if another
        process took it over. Call inside the transaction whose writes the lease protects."""
        started, now = clock.monotonic(), clock.wall()
        # The same test as try_acquire's "free": a lease one process may take is one no other renews.
        n = Lease.objects.filter(name=self.name, holder=self.holder, expires_at__gte=now).update(
            expires_at=now + self.ttl
        )
        if n == 1:
            self._renewed = started
            return
        if Lease.objects.filter(name=self.name, holder=self.holder).exists():
            raise LeaseExpired(f"lease {self.name!r} expired (not renewed for over {self.ttl:g} s)")
        raise LeaseLost(f"lease {self.name!r} was taken over")

    def resume(self) -> None:
        """Renew after a LeaseExpired, if nobody took the lease meanwhile (else LeaseLost): for work
        that may pause past the expiry as long as no other holder ran in between."""
        started, now = clock.monotonic(), clock.wall()
        if Lease.objects.filter(name=self.name, holder=self.holder).update(expires_at=now + self.ttl) != 1:
            raise LeaseLost(f"lease {self.name!r} was taken over")
        self._renewed = started

    def left(self) -> float:
        """(Scaled) seconds this lease lasts by this process's own clock since its last renewal:
        what it may still do under it without asking the database (a stalled process finds it
        spent on waking, however long the stall)."""
        return self._renewed + self.ttl - clock.monotonic()

    def release(self) -> None:
        Lease.objects.filter(name=self.name, holder=self.holder).update(holder="", expires_at=0)


def try_acquire(name: str, ttl: float) -> Held | None:
    held = Held(name, ttl)
    for _ in range(3):
        try:
            with transaction.atomic():
                lease = Lease.objects.select_for_update().filter(name=name).first()
                if lease is None:
                    Lease.objects.create(name=name, holder=held.holder, expires_at=clock.wall() + ttl)
                    return held
                free = not lease.holder or lease.expires_at < clock.wall() or dead_here(lease.holder)
                if not free and lease.holder != held.holder:
                    return None
                lease.holder, lease.expires_at = held.holder, clock.wall() + ttl
                lease.save(update_fields=["holder", "expires_at"])
                return held
        except IntegrityError:  # two first-timers created the row at once: look again
            continue
    return None


def acquire(
    name: str, ttl: float, *, wait: float, poll: float = 1.0, on_wait: Callable[[], None] | None = None
) -> Held | None:
    """Acquire, waiting up to `wait` (scaled) seconds for the current holder to finish."""
    deadline = clock.monotonic() + wait
    while True:
        held = try_acquire(name, ttl)
        if held is not None or clock.monotonic() >= deadline:
            return held
        if on_wait:
            on_wait()
        clock.sleep(poll)
