"""Named crash points for the chaos tests: FAILPOINT=name[:n[:SIGNAL]] sends this process SIGNAL
(default SIGKILL; e.g. SIGINT for a Ctrl-C) the n-th time (default: first) execution passes
`failpoint(name)`. A no-op when FAILPOINT is unset."""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    spec = os.environ.get("FAILPOINT")
    if not spec:
        return
    wanted, _, rest = spec.partition(":")
    if wanted != name:
        return
    nth, _, sig = rest.partition(":")
    _hits[name] += 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.Signals[sig or "SIGKILL"])
