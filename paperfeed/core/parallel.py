"""Produce items in a forked child process while this one consumes them: parsing and writing a
large import then use both cores. Memory stays bounded (a short queue of batches)."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_DONE = "__done__"
_FAILED = "__failed__"


def _child[T](factory: Callable[[], Iterable[T]], q: mp.Queue, parent: int, batch: int) -> None:
    def put(item: Any) -> bool:
        while True:
            try:
                q.put(item, timeout=1)
                return True
            except queue.Full:
                if os.getppid() != parent:  # the consumer died (e.g. SIGKILL): stop, don't linger
                    # Exit without flushing: this process holds the pipe's read end too, so the
                    # queue's feeder thread would block forever on a pipe nobody drains.
                    q.cancel_join_thread()
                    return False

    try:
        chunk: list[T] = []
        for item in factory():
            chunk.append(item)
            if len(chunk) >= batch:
                if not put(chunk):
                    return
                chunk = []
        if chunk and not put(chunk):
            return
        put(_DONE)
    except BaseException as e:  # reported to the parent, which raises it
        put((_FAILED, f"{type(e).__name__}: {e}", traceback.format_exc()))


class ChildFailed(RuntimeError):
    pass


def produce_in_child[T](
    factory: Callable[[], Iterable[T]], *, batch: int = 500, depth: int = 8
) -> Iterator[T]:
    """Iterate `factory()` in a forked child; yields its items here, in order. Falls back to
    iterating in this process on a single-core machine, where a second process only costs."""
    if (os.cpu_count() or 1) < 2 or mp.get_start_method(allow_none=True) not in (None, "fork"):
        yield from factory()
        return
    ctx = mp.get_context("fork")
    q: mp.Queue = ctx.Queue(maxsize=depth)
    proc = ctx.Process(target=_child, args=(factory, q, os.getpid(), batch), daemon=True)
    proc.start()
    try:
        while True:
            try:
                got = q.get(timeout=5)
            except queue.Empty:
                if not proc.is_alive():
                    raise ChildFailed(f"the producer process died (exit code {proc.exitcode})") from None
                continue
            if isinstance(got, str) and got == _DONE:
                return
            if isinstance(got, tuple) and got and got[0] == _FAILED:
                raise ChildFailed(got[1] + "\n" + got[2])
            yield from got
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        q.close()


class bulk_gc:
    """Fewer garbage-collector passes during a bulk load. A batch of records is tens of thousands
    of live objects; the default thresholds re-scan them thousands of times (measured: parsing the
    snapshot took twice as long with them). Memory still stays bounded: batches are freed by
    reference counting, and the collector still runs, only less often."""

    def __enter__(self) -> None:
        import gc

        self._old = gc.get_threshold()
        gc.freeze()  # what start-up loaded (Django, models) is never garbage: skip it
        gc.set_threshold(50_000, 20, 20)

    def __exit__(self, *exc: object) -> None:
        import gc

        gc.set_threshold(*self._old)
        gc.unfreeze()
