"""Argon2id with a cap on how many hashes run at once across every process on this machine.

Django's Argon2 defaults use ~100 MiB per hash (memory_cost=102400 KiB): a login storm on 2 cores
would otherwise be a memory and CPU denial of service (RELIABILITY L9). The cap is a set of lock
files under PAPERFEED_HOME: a hash runs while holding one of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import threading
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from paperfeed.core import clock

CONCURRENCY = 2


class _Counter:
    """Hashes computed by the calling thread. Per thread, not per process: a test asking how many
    hashes its own requests cost must not count a hash that another thread of the process (a live
    server still answering an earlier test's request) computes meanwhile."""

    def __init__(self) -> None:
        self._mine = threading.local()

    def add(self) -> None:
        self._mine.value = self.value + 1

    @property
    def value(self) -> int:
        return getattr(self._mine, "value", 0)


# How many hashes this thread computed (encode or verify): tests count them to prove that rate
# limits are checked before any hashing.
HASH_CALLS = _Counter()


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    folder = settings.HOME / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fds = [os.open(folder / f"argon2-{i}.lock", os.O_CREAT | os.O_RDWR, 0o600) for i in range(CONCURRENCY)]
    try:
        for attempt in itertools.count():
            for fd in fds:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                return
            clock.sleep(min(0.002 * (attempt + 1), 0.05))
    finally:
        for fd in fds:
            os.close(fd)


class CappedArgon2PasswordHasher(Argon2PasswordHasher):
    """Same algorithm name and hash format as Django's ("argon2$argon2id$…")."""

    def encode(self, password: str, salt: str) -> str:
        HASH_CALLS.add()
        with _slot():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        HASH_CALLS.add()
        with _slot():
            return super().verify(password, encoded)
