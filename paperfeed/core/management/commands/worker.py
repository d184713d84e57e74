from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from paperfeed.core import schedule


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
            call_command(
                "db_worker",
                queue_name="*",
                batch=options["batch"],
                interval=options["interval"],
                reload=False,
                verbosity=options["verbosity"],
            )
        finally:
            if ticker is not None:
                ticker.stop()
