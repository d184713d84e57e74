"""`paperfeed jobs`: the background job queue as an operator sees it (what waits, what runs and on
which worker, what failed and why)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandParser
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from paperfeed.core import tasks
from paperfeed.core.commands import ReportCommand, add_limit

STATES = {
    "queued": TaskResultStatus.READY,
    "running": TaskResultStatus.RUNNING,
    "failed": TaskResultStatus.FAILED,
    "done": TaskResultStatus.SUCCESSFUL,
}
DEFAULT_STATES = ("queued", "running", "failed")


def error_line(traceback: str) -> str:
    """The exception's own line: the last non-empty line of the traceback."""
    lines = [line.strip() for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class Command(ReportCommand):
    help = "List background jobs: queued, running (with their worker, and whether it lives) and failed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--status",
            action="append",
            choices=sorted(STATES),
            help="only jobs in this state (repeatable; default: queued, running and failed)",
        )
        add_limit(parser, 100, None, "jobs per state")

    def report(self, **options: Any) -> dict[str, Any]:
        wanted = options["status"] or list(DEFAULT_STATES)
        by_name = tasks.worker_leases()
        jobs: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for state in wanted:
            rows = DBTaskResult.objects.filter(status=STATES[state])
            counts[state] = rows.count()
            newest_first = state in ("failed", "done")
            order = (
                "-finished_at" if newest_first else ("started_at" if state == "running" else "enqueued_at")
            )
            for job in rows.order_by(order)[: options["limit"]]:
                worker = job.worker_ids[-1] if job.worker_ids else None
                jobs.append(
                    {
                        "id": str(job.pk),
                        "name": job.task_name,
                        "task": job.task_path,
                        "state": state,
                        "queue": job.queue_name,
                        "enqueued_at": job.enqueued_at,
                        "run_after": None if job.run_after == get_date_max() else job.run_after,
                        "started_at": job.started_at,
                        "finished_at": job.finished_at,
                        "attempts": len(job.worker_ids),
                        "worker": worker,
                        "worker_alive": tasks.worker_alive(worker, by_name)
                        if state == "running" and worker
                        else None,
                        "error": error_line(job.traceback) if state == "failed" else None,
                    }
                )
        # Whether anyone will run what is queued: with no worker alive, jobs and the hourly
        # schedule (digests, housekeeping) wait, and an empty queue looked just as healthy.
        workers = [
            {"worker": lease.holder, "alive": tasks.worker_alive(lease.holder, by_name)}
            for lease in sorted(by_name.values(), key=lambda lease: lease.holder)
            if lease.holder
        ]
        return {"counts": counts, "jobs": jobs, "workers": workers}

    def render(self, result: dict[str, Any]) -> str:
        lines = [", ".join(f"{n} {state}" for state, n in result["counts"].items())]
        alive = [w["worker"] for w in result["workers"] if w["alive"]]
        lines.append(
            f"workers alive: {len(alive)} ({', '.join(alive)})"
            if alive
            else "no worker alive: queued jobs and the hourly schedule (digests, housekeeping) wait "
            "until `paperfeed worker` runs"
        )
        for j in result["jobs"]:
            when = {
                "queued": f"enqueued {_t(j['enqueued_at'])}"
                + (f", runs after {_t(j['run_after'])}" if j["run_after"] else ""),
                "running": f"started {_t(j['started_at'])} on {j['worker']}"
                + ("" if j["worker_alive"] else " (its worker is gone: a live worker queues it again)"),
                "failed": f"finished {_t(j['finished_at'])}: {j['error']}",
                "done": f"finished {_t(j['finished_at'])}",
            }[j["state"]]
            lines.append(f"{j['state']:<8} {j['name']:<22} {j['id']}  {when}")
        return "\n".join(lines)


def _t(value: dt.datetime | None) -> str:
    """In UTC with its offset, as the JSON, `moderate log` and the logs print times: without a zone an
    operator could not tell a worker's local time from the server's."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value else "-"
