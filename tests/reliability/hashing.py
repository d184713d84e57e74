"""Child process for the Argon2 cap test: N password checks through the real hasher, each inner
Argon2 computation logged as a (start, end) interval on the system-wide monotonic clock.

    python -m tests.reliability.hashing N OUTFILE
"""

from __future__ import annotations

import json
import sys
import time

import django

if __name__ == "__main__":
    django.setup()
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from paperfeed.accounts.hashers import CappedArgon2PasswordHasher

    intervals: list[tuple[float, float]] = []
    inner = Argon2PasswordHasher.verify

    def timed(self: Argon2PasswordHasher, password: str, encoded: str) -> bool:
        # A probe inside the cap (the capped hasher calls this through super()): it only
        # records when the real computation runs.
        t0 = time.monotonic()
        try:
            return inner(self, password, encoded)
        finally:
            intervals.append((t0, time.monotonic()))

    Argon2PasswordHasher.verify = timed  # type: ignore[method-assign]
    hasher = CappedArgon2PasswordHasher()
    encoded = sys.stdin.readline().strip()
    for i in range(int(sys.argv[1])):
        assert not hasher.verify(f"wrong password {i}", encoded)
    with open(sys.argv[2], "w") as f:
        json.dump(intervals, f)
