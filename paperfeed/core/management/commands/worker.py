from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from paperfeed.core import schedule
from paperfeed.core.commands import database_name, first_line

log = logging.getLogger(__name__)

# Seconds between attempts while the database is unreachable (doubling up to the last).
_BACKOFF = (1.0, 2.0, 5.0)


class Command(BaseCommand):
    help = "Run background jobs (the database-backed task queue) and the schedule."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
        parser.add_argument("--no-schedule", action="store_true", help="do not run the periodic jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        ticker = None
        if not options["no_schedule"]:
            if options["batch"]:
                schedule.tick()  # once: what is due now joins the batch
            else:
                ticker = schedule.Ticker()
                ticker.start()
        try:
            self._poll(options)
        finally:
            if ticker is not None:
                ticker.stop()

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
                    batch=options["batch"],
                    interval=options["interval"],
                    reload=False,
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
