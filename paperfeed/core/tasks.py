"""Housekeeping, hourly through the schedule: tables that every request or job adds rows to would
otherwise grow without bound (rate-limit windows, expired sessions, finished task results)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.tasks import task
from django.utils import timezone

from paperfeed.core import ratelimit

TASK_RESULTS_DAYS = 14


@task()
def housekeeping() -> dict[str, int]:
    counters = ratelimit.prune()
    sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    call_command("prune_db_task_results", queue_name="*", min_age_days=TASK_RESULTS_DAYS, verbosity=0)
    return {"rate_counters": counters, "sessions": sessions}
