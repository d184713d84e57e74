from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from paperfeed.core import clock, leases, schedule, tasks
from paperfeed.core.commands import PaperfeedCommand, database_name, first_line, positive_float
from paperfeed.core.models import Lease

log = logging.getLogger(__name__)

# Seconds between attempts while the database is unreachable (doubling up to the last).
_BACKOFF = (1.0, 2.0, 5.0)


class Command(PaperfeedCommand):
    help = "Run background jobs (the database-backed task queue) and the schedule."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument(
            "--interval", type=positive_float, default=1.0, help="seconds between polls when idle (default 1)"
        )
        parser.add_argument("--no-schedule", action="store_true", help="do not run the periodic jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        heart = Heartbeat(tasks.worker_id())
        try:
            heart.beat()  # the lease exists before this worker claims a job
            tasks.recover_orphans()  # e.g. what this machine's previous worker was killed running
        except (OperationalError, InterfaceError) as e:  # the poll below waits for the database
            if options["batch"]:
                raise  # a batch does not wait: the command line says why in one line
            log.warning("database unavailable at start: %s (%s)", database_name(), first_line(e)[:200])
        heart.start()
        options["worker_id"] = heart.worker
        ticker = lane = None
        try:
            if not options["batch"]:
                lane = MailLane(heart.worker + tasks.LANE, options["interval"])
                lane.start()
            if not options["no_schedule"]:
                if options["batch"]:
                    schedule.tick()  # once: what is due now joins the batch
                else:
                    ticker = schedule.Ticker()
                    ticker.start()
            self._poll(options)
        finally:
            if ticker is not None:
                ticker.stop()
            if lane is not None:
                lane.stop()
            heart.stop()

    def _poll(self, options: dict[str, Any]) -> None:
        """db_worker's loop, restarted when the database goes away (a PostgreSQL restart or
        failover): django-tasks re-raises any OperationalError but "locked", which would end the
        worker and leave the queue unserved until someone restarts it (RELIABILITY L6)."""
        failures = 0
        while True:
            started = time.monotonic()
            try:
                call_command(
                    "db_worker",
                    queue_name="*",
                    # A batch runs everything itself; otherwise the mail lane serves the mail queue.
                    exclude_queues="" if options["batch"] else tasks.MAIL_QUEUE,
                    batch=options["batch"],
                    interval=options["interval"],
                    reload=False,
                    worker_id=options["worker_id"],
                    verbosity=options["verbosity"],
                )
                return
            except (OperationalError, InterfaceError) as e:
                if options["batch"]:
                    raise
                if time.monotonic() - started > 60:
                    failures = 0  # it ran fine for a while: a new outage starts the backoff again
                wait = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
                failures += 1
                log.warning(
                    "database unavailable: %s (%s); polling again in %.0f s",
                    database_name(),
                    first_line(e)[:200],
                    wait,
                )
                for conn in connections.all():
                    conn.close_if_unusable_or_obsolete()
                close_old_connections()
                time.sleep(wait)
                # The job this worker was running when the database went away is still marked
                # RUNNING under its id (django-tasks could not record the end): run it again.
                with contextlib.suppress(OperationalError, InterfaceError):
                    tasks.recover_orphans(own=options["worker_id"])


class Heartbeat(threading.Thread):
    """Keeps this worker's lease (its liveness, read by core.tasks.recover_orphans) and recovers the
    jobs of workers that died, every WORKER_BEAT seconds. A thread: a job may run for many minutes."""

    def __init__(self, worker: str) -> None:
        super().__init__(name="paperfeed-heartbeat", daemon=True)
        self.worker = worker
        self.lease = tasks.lease_name(worker)
        self.stopped = threading.Event()
        self.held: leases.Held | None = None

    def beat(self) -> None:
        if self.held is not None:
            try:
                self.held.renew()
                return
            except leases.LeaseLost:
                log.warning(
                    "worker %s: its lease was taken over (renewals were late); taking it back", self.worker
                )
        self.held = leases.try_acquire(self.lease, tasks.WORKER_TTL)

    def run(self) -> None:
        interval = tasks.WORKER_BEAT / clock.scale()
        while not self.stopped.wait(interval):
            close_old_connections()
            try:
                self.beat()
                tasks.recover_orphans()
            except Exception:  # the database restarting: the next beat tries again
                log.exception("worker heartbeat failed")
        close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join()
        # A clean exit leaves no lease behind (housekeeping removes those of killed workers).
        with contextlib.suppress(OperationalError, InterfaceError):
            Lease.objects.filter(name=self.lease, holder=leases.me()).delete()


class MailLane(threading.Thread):
    """The mail queue's own job loop, beside the main one: a confirmation or reset mail queued
    during an index build or a digest run goes out within a poll interval, not after it."""

    def __init__(self, worker: str, interval: float) -> None:
        super().__init__(name="paperfeed-mail", daemon=True)
        self.worker = worker
        self.loop = Worker(
            queue_names=[tasks.MAIL_QUEUE],
            interval=interval,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker,
            excluded_queue_names=[],
        )

    def run(self) -> None:
        failures = 0
        while self.loop.running:
            try:
                self.loop.run()
            except Exception as e:  # the database went away: as the main loop, wait and poll again
                wait = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
                failures += 1
                log.warning("mail lane: %s; polling again in %.0f s", str(e).strip()[:200], wait)
                close_old_connections()
                time.sleep(wait)
                with contextlib.suppress(OperationalError, InterfaceError):
                    tasks.recover_orphans(own=self.worker)
        connections.close_all()

    def stop(self) -> None:
        self.loop.running = False  # the loop ends after the mail it is sending, if any
        self.join()
