"""The throw-away homes (`pftest-*` in the temporary folder) that tests/settings.py makes, one per test
process (the xdist controller and each worker): removed when the process ends, and a crashed run's
left for the next run to remove.

Whether a home's process still runs is told by a lock, not a process id (which the kernel hands out
again): the process holds an exclusive flock on `owner.lock` in its home for as long as it lives, and
the kernel lets go of it however the process ends (kill -9 included). A home whose lock can be taken
is a dead process's. A home is made under a hidden name and locked before it is renamed to its
`pftest-` one, so no sweep sees it unlocked while its process lives; one without the file (made
before the lock was kept) or a hidden one (its process died before the rename) is removed only when
untouched for a day. A suite running beside this one, from
another checkout or another user's, keeps its homes locked, so they are left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

PREFIX = "pftest-"
MAKING = ".pftest-new-"  # a home's name until it is locked
LOCK = "owner.lock"
UNLOCKED_AFTER_S = 24 * 3600  # a home without a lock file is taken for a crashed run's after this long

# The home this process made and the open file that holds its lock (kept open: closing it unlocks).
_made: tuple[Path, IO[str], int] | None = None


def make() -> Path:
    """A new home for this process, locked as its own and removed when the process exits."""
    global _made
    making = Path(tempfile.mkdtemp(prefix=MAKING))
    lock = (making / LOCK).open("w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the lock holds on through the rename
    home = making.with_name(PREFIX + making.name.removeprefix(MAKING))
    making.rename(home)
    _made = (home, lock, os.getpid())
    atexit.register(remove_own)
    return home


def remove_own() -> None:
    """Remove the home this process made (none: nothing). A child forked from this process inherits
    the record and the atexit hook, not the home: only the process that made it removes it."""
    global _made
    if _made is None or _made[2] != os.getpid():
        return
    home, lock, _ = _made
    _made = None
    shutil.rmtree(home, ignore_errors=True)
    lock.close()


def _abandoned(home: Path, now: float) -> bool:
    try:
        lock = (home / LOCK).open("r") if home.name.startswith(PREFIX) else None
    except FileNotFoundError:
        lock = None
    if lock is None:
        return now - home.stat().st_mtime > UNLOCKED_AFTER_S
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its process runs
        return True


def sweep(root: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove the homes under `root` (the temporary folder) whose processes are gone; those removed."""
    root = Path(tempfile.gettempdir()) if root is None else root
    now = time.time() if now is None else now
    removed = []
    for home in sorted([*root.glob(f"{PREFIX}*"), *root.glob(f"{MAKING}*")]):
        if _made is not None and home == _made[0]:
            continue
        # Another user's (not ours to open), or one that another sweep or its process removed meanwhile.
        with contextlib.suppress(OSError):
            if home.is_dir() and not home.is_symlink() and _abandoned(home, now):
                shutil.rmtree(home)
                removed.append(home)
    return removed
