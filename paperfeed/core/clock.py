"""The one clock every sleep, backoff and rate-limit window goes through.

Tests speed it up with PAPERFEED_TIME_SCALE (e.g. 100: a 3 s politeness gap lasts 30 ms) and can
then assert both the configured values and the gaps they observe, in scaled seconds.
"""

from __future__ import annotations

import time

from paperfeed.conf import env_float


def scale() -> float:
    return max(env_float("PAPERFEED_TIME_SCALE"), 1e-9)


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds / scale())


def monotonic() -> float:
    """Scaled seconds since an arbitrary point; differences compare with configured durations."""
    return time.monotonic() * scale()


def wall() -> float:
    """Scaled wall-clock seconds (for state shared between processes, e.g. a last-request stamp)."""
    return time.time() * scale()
