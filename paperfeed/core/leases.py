"""Named leases: at most one live holder per name across processes and machines.

A holder renews its lease while it works; a lease whose holder stopped renewing expires after `ttl`.
A holder that died on this machine (SIGKILL) is recognised at once by its process id and start time,
so a re-run after a crash does not wait for the expiry. Every write that must happen only under the
lease calls `renew()` in the same transaction (a fence: if the lease expired or was taken over, it
raises). It treats an expired lease as lost even while nobody has taken it yet (LeaseExpired): what
was begun under the lapsed lease must not be finished as if it had held; work that tolerates a gap
takes the lease back with resume(), which fails if another holder ran in between.

Expiry is stamped and judged by the database's clock (core.clock.db_now_sql), never a process's own:
the machines sharing a lease may disagree on the time by more than it lasts. A Heartbeat renews the
lease from a thread of its own while one long step of the holder's work is under way (an SMTP
conversation, a page of recommendations), for at most the time that step may take.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Expression, FloatField

from paperfeed.core import clock
from paperfeed.core.models import Lease

log = logging.getLogger(__name__)


class DbNow(Expression):
    """The database's clock in scaled epoch seconds, evaluated by the statement that uses it."""

    output_field = FloatField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = clock.db_now_sql(connection.vendor)
        return sql, tuple(params)


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
        started = clock.monotonic()
        # The same test as try_acquire's "free": a lease one process may take is one no other renews.
        n = Lease.objects.filter(name=self.name, holder=self.holder, expires_at__gte=DbNow()).update(
            expires_at=DbNow() + self.ttl
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
        started = clock.monotonic()
        mine = Lease.objects.filter(name=self.name, holder=self.holder)
        if mine.update(expires_at=DbNow() + self.ttl) != 1:
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
                lease = Lease.objects.select_for_update().filter(name=name).annotate(now=DbNow()).first()
                if lease is None:
                    Lease.objects.create(name=name, holder=held.holder, expires_at=DbNow() + ttl)
                    return held
                free = not lease.holder or lease.expires_at < lease.now or dead_here(lease.holder)
                if not free and lease.holder != held.holder:
                    return None
                Lease.objects.filter(pk=lease.pk).update(holder=held.holder, expires_at=DbNow() + ttl)
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


class Heartbeat:
    """Renews `held` every `every` (scaled) seconds from a thread with its own database connection,
    but only while a step of the holder's work is under way (`with beat.working(at_most): ...`) and
    for no longer than that step may take: a holder stuck past it (a hung call, a deadlock) stops
    being renewed and loses the lease after its ttl like a dead one. The thread dies with its process
    (a SIGKILLed holder renews nothing), and `stop()` (the context manager's exit) ends it. It never
    takes a lapsed lease back: once a renewal finds the lease expired or taken over it stops, and the
    holder's own next renew() (the fence around its writes) decides what to do; a holder that takes
    the lease back does so with `resume()`, which starts the renewals again."""

    def __init__(self, held: Held, every: float | None = None) -> None:
        self.held = held
        self.every = every if every is not None else held.ttl / 4
        self.beats = 0
        self.lost: LeaseLost | None = None
        self._until = 0.0  # clock.monotonic() up to which renewals go on (0: no step under way)
        self._stopped = threading.Event()
        # Bumped by resume(): a loss found by a renewal that began before it is not this lease's any more.
        self._generation = 0
        self._lock = threading.Lock()  # around the in-memory state only, never a database call
        self._thread = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=f"lease:{self.held.name}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def resume(self) -> None:
        """Take the lease back after a LeaseExpired (Held.resume(): LeaseLost if another holder ran
        in between) and renew it again during steps: a heartbeat that stopped on finding it lapsed
        would otherwise leave every later step of the holder without one."""
        self.held.resume()
        with self._lock:
            self._generation += 1
            ended, self.lost = self.lost is not None, None
        if ended and not self._stopped.is_set():
            self._thread.join()  # it found the lease lapsed and is returning
            self._thread = self._new_thread()
            self._thread.start()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    @contextmanager
    def working(self, at_most: float) -> Iterator[None]:
        """Keep the lease through the step in this block, for at most `at_most` (scaled) seconds."""
        self._until = clock.monotonic() + at_most
        try:
            yield
        finally:
            self._until = 0.0

    def _run(self) -> None:
        try:
            while not self._stopped.wait(self.every / clock.scale()):
                if clock.monotonic() >= self._until:
                    continue
                generation = self._generation
                try:
                    with transaction.atomic():
                        self.held.renew()
                    self.beats += 1
                except LeaseLost as e:
                    with self._lock:
                        if generation != self._generation:
                            continue  # the holder took the lease back meanwhile: renew that one
                        self.lost = e
                    log.warning("lease %r: %s; the heartbeat stops renewing it", self.held.name, e)
                    return
                except DatabaseError as e:  # the database busy or restarting: the next beat tries again
                    log.warning("lease %r: renewal failed (%s); trying again", self.held.name, e)
        finally:
            connections.close_all()  # this thread's own connection
