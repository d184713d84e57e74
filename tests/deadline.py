"""How long the running test has before pytest-timeout stops it, for waits on child processes.

A wait with a fixed deadline of its own (a server booting in 60 s) fails first on a machine loaded
enough to need most of the test's timeout, though the test would have passed in time. Waits derive
their deadline from the test's timeout instead, less a margin so that they still fail with their
own message and the test's cleanup (terminating its children) runs before pytest-timeout fires."""

from __future__ import annotations

import math
import time

import pytest

_end = math.inf
_margin = 15.0


def _timeout_of(item: pytest.Item) -> float:
    # pytest-timeout's precedence: the marker, then --timeout, then the ini value.
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    else:
        value = item.config.getoption("timeout", None)
        if value is None:
            value = item.config.getini("timeout")
    return float(value or 0)


def start(item: pytest.Item) -> None:
    """Called as the item's setup begins, when pytest-timeout starts its timer too."""
    global _end, _margin
    seconds = _timeout_of(item)
    _end = time.monotonic() + seconds if seconds > 0 else math.inf  # 0: no timeout (a debugging run)
    _margin = max(15.0, seconds / 10)


def seconds_left() -> float:
    """Seconds a wait may take: what is left of the test's timeout, less a tenth of it (at least
    15 s) for failing with a message and cleaning up. Never less than 1 s, so that a wait still
    looks once."""
    if math.isinf(_end):
        return 3600.0
    return max(1.0, _end - time.monotonic() - _margin)
