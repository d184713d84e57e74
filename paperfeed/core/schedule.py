"""A small scheduler for periodic jobs, run by `paperfeed worker` (or by cron via `paperfeed schedule tick`).

Apps register jobs (`register("digests.send", "paperfeed.digests.tasks.send_due_digests", every=3600)`).
A tick claims the current slot of every job by inserting a ScheduledRun row (UNIQUE job+slot) and
enqueues the job's task in the same transaction: two workers ticking at once enqueue it once, and a
crash cannot claim a slot without its task. Missed slots are not replayed: a job must catch up by
itself (the digest sender sends what is still due, and skips what is too late).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, transaction
from django.utils.module_loading import import_string

from paperfeed.conf import env_float
from paperfeed.core import clock
from paperfeed.core.commands import database_name, first_line
from paperfeed.core.models import ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of a django.tasks Task taking no arguments
    every: int  # seconds between runs (slots start at multiples of it, UTC)


JOBS: dict[str, Job] = {}


def register(name: str, task: str, *, every: int) -> None:
    JOBS[name] = Job(name, task, every)


def slot_of(job: Job, now: float) -> int:
    return int(math.floor(now / job.every) * job.every)


def next_run(job: Job, last_slot: int | None, now: float) -> tuple[int, bool]:
    """When `job` runs next (its slot's start, epoch seconds) and whether that is due: its current
    slot unclaimed (`last_slot`: the latest claimed), so the next tick enqueues it; else the slot
    after the current one."""
    current = slot_of(job, now)
    if last_slot is None or last_slot < current:
        return current, True
    return current + job.every, False


def tick(now: float | None = None) -> list[str]:
    """Enqueue every job whose current slot nobody claimed yet; returns their names. The current
    slot is the database's (clock.db_wall): workers on machines whose clocks disagree would each
    claim their own hour's, and run a job twice in one hour and not at all in the next."""
    now = clock.db_wall() if now is None else now
    enqueued = []
    for job in JOBS.values():
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, slot=slot_of(job, now))
                # The task row lives in the same database: enqueueing inside the transaction makes
                # the claim and the task one commit (the worker cannot see the task before it).
                result = import_string(job.task).enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # another tick claimed this slot
        enqueued.append(job.name)
        log.info("scheduled %s", job.name, extra={"job": job.name, "slot": slot_of(job, now)})
    return enqueued


class Ticker(threading.Thread):
    """Ticks every PAPERFEED_SCHEDULE_TICK (scaled) seconds until stopped."""

    def __init__(self) -> None:
        super().__init__(name="paperfeed-scheduler", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = env_float("PAPERFEED_SCHEDULE_TICK") / clock.scale()
        while not self.stopped.is_set():
            close_old_connections()
            try:
                tick()
            except (OperationalError, InterfaceError) as e:
                # Expected while the database restarts: one line a tick, not a traceback each.
                log.warning(
                    "scheduler tick failed: database unavailable: %s (%s)",
                    database_name(),
                    first_line(e)[:200],
                )
            except Exception:  # a failed tick must not end the worker
                log.exception("scheduler tick failed")
            self.stopped.wait(interval)
        close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
