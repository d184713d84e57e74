"""Collecting the static files into PAPERFEED_HOME/static: once per change of the sources, and one
process at a time. `init` and every `serve` collect; collectstatic re-hashes and re-compresses every
file each time (over a minute on a loaded 2-core machine, which held up each server's start), and
two at once in one home (two servers started together) raced each other's temporary files. Homes may
share one root (PAPERFEED_STATIC_ROOT): the first collects, the others find it current."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

STAMP = ".collected"  # in STATIC_ROOT: the signature of the sources it was collected from


def _signature() -> str:
    h = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            full = storage.path(path)
            info = os.stat(full)
            h.update(f"{full}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return h.hexdigest()


def collect() -> bool:
    """Collect unless the collected files already match their sources; True if it collected."""
    root = Path(settings.STATIC_ROOT)
    root.parent.mkdir(parents=True, exist_ok=True)
    # Beside the root, not in the home: homes that share a root (PAPERFEED_STATIC_ROOT) share the lock.
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        signature = _signature()
        stamp = root / STAMP
        if stamp.exists() and stamp.read_text() == signature:
            return False
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(signature)
        return True
