"""Warm-up of a fresh web worker: what the first search would otherwise wait for (opening the indexes,
loading the model and its first run) is done in a background thread as the worker starts; gunicorn
recycles workers (max_requests), so without it every recycle would make one visitor wait. An app
takes part by giving its AppConfig a `warm_up()` method; a failure is logged and the app is built
on first use as before. Warm-up must stay cheap: it runs at every recycle and shares the worker's
GIL with its first requests. The "for you" window is cheap here because it is saved under the home and
mapped (paperfeed.recs.store); on a home without a usable one, the first worker starts a child process
that builds it (131 s of CPU at 1M synthetic papers: in this thread it held the GIL against the
requests, and a "for you" request waited for it past the request timeout), and every worker's warm-up
waits for that child and maps what it saved, while "for you" answers without it."""

from __future__ import annotations

import logging
import threading
import time

from django.apps import apps
from django.urls import get_resolver

from paperfeed.conf import env

log = logging.getLogger(__name__)

# True in a process that answers requests (a `serve` worker): no request may wait behind a build that
# takes minutes, and none may run in its GIL; an app then builds in a child process (recs.index).
serving = False


def mark_serving() -> None:
    global serving
    serving = True


def warm_up() -> dict[str, float | None]:
    """Run every app's warm_up(); seconds each took (None: it failed)."""
    took: dict[str, float | None] = {}
    started = time.monotonic()
    # The URL configuration imports every app's views and API (~0.7 s of CPU) and the first page's
    # links index it for reversing (~0.25 s): the first request would do both, whatever its page.
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - the properties import and index them
    resolver.reverse_dict  # noqa: B018
    took["urls"] = round(time.monotonic() - started, 2)
    for config in apps.get_app_configs():
        step = getattr(config, "warm_up", None)
        if not callable(step):
            continue
        started = time.monotonic()
        try:
            step()
        except Exception:
            log.exception("warm-up of %s failed; it will be built on first use", config.label)
            took[config.label] = None
        else:
            took[config.label] = round(time.monotonic() - started, 2)
    log.info("warmed up: %s", ", ".join(f"{k} {v} s" for k, v in took.items()))
    return took


def start_in_background() -> threading.Thread | None:
    if env("PAPERFEED_WARM_UP") != "1":
        return None
    thread = threading.Thread(target=_run, name="warm-up", daemon=True)
    thread.start()
    return thread


def _run() -> None:
    from django.db import close_old_connections

    try:
        warm_up()
    finally:
        close_old_connections()  # this thread's connection must not outlive it
