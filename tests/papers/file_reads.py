"""What a piece of code read, as a test sees it from outside: how many times it opened a file
(CPython's audit event for each open) and how many bytes the whole process read meanwhile
(/proc/self/io's rchar: every read(), whatever the file; a test that counts them reads nothing else)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_opens: dict[str, int] = {}
_hooked = False


def _on_event(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _opens and args and isinstance(args[0], str | os.PathLike):
        key = os.fspath(args[0])
        if key in _opens:
            _opens[key] += 1


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


@contextlib.contextmanager
def file_reads(path: Path) -> Iterator[dict[str, int]]:
    """Yields a dict that holds, once the block is left, "opens" of `path` and "bytes" read."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_on_event)  # for the process's life: an audit hook cannot be removed
        _hooked = True
    key = os.fspath(path)
    _opens[key] = 0
    got = {"opens": 0, "bytes": 0}
    before = _rchar()
    try:
        yield got
    finally:
        got["bytes"] = _rchar() - before
        got["opens"] = _opens.pop(key)
