from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core import clock, schedule
from paperfeed.core.commands import ReportCommand
from paperfeed.core.models import ScheduledRun


class Command(ReportCommand):
    help = "The periodic jobs: `list` them, or `tick` once (enqueue what is due; for cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "tick"])

    def report(self, **options: Any) -> dict[str, Any]:
        if options["action"] == "tick":
            return {"enqueued": schedule.tick()}
        now = clock.db_wall()  # tick's clock: the database's, not this machine's
        jobs = []
        last_slots = ScheduledRun.objects.last_slots(list(schedule.JOBS))
        for job in schedule.JOBS.values():
            last_slot = last_slots.get(job.name)
            at, due = schedule.next_run(job, last_slot, now)
            jobs.append(
                {
                    "job": job.name,
                    "task": job.task,
                    "every": job.every,
                    "last_slot": last_slot,
                    # Keys new in 0.2, camelCase only; a time, not a slot number.
                    "nextRun": slot_time(at),
                    "due": due,
                }
            )
        return {"jobs": jobs}

    def render(self, result: dict[str, Any]) -> str:
        if "enqueued" in result:
            return "enqueued: " + (", ".join(result["enqueued"]) or "nothing")
        return "\n".join(
            f"{j['job']}: every {j['every']} s, last slot {slot_time(j['last_slot'])}, next run "
            + j["nextRun"]
            + (" (due)" if j["due"] else "")
            for j in result["jobs"]
        )


def slot_time(slot: int | None) -> str:
    """A slot (epoch seconds, UTC) as an operator reads it; JSON keeps the last slot's number."""
    if slot is None:
        return "never"
    return datetime.fromtimestamp(slot, UTC).isoformat().replace("+00:00", "Z")
