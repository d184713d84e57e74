"""Collecting the static files into PAPERFEED_HOME/static, one process at a time: `init` and every
`serve` collect, and two of them at once in one home (two servers started together) raced each
other's temporary files (a FileNotFoundError in collectstatic that stopped a server)."""

from __future__ import annotations

import fcntl

from django.conf import settings
from django.core.management import call_command


def collect() -> None:
    settings.HOME.mkdir(parents=True, exist_ok=True)
    with (settings.HOME / "static.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the second one waits, then finds little left to copy
        call_command("collectstatic", interactive=False, verbosity=0)
