"""Housekeeping, hourly through the schedule: tables that every request or job adds rows to would
otherwise grow without bound (rate-limit windows, expired sessions, finished task results, the
scheduler's claimed slots).

And the workers' liveness: django-tasks marks a job RUNNING when a worker claims it and nothing
else, so a worker killed mid-job (kill -9, systemd's SIGKILL after TimeoutStopSec) would leave it
RUNNING for ever. Each `paperfeed worker` holds a lease named after its worker id and renews it while
it lives; a RUNNING job whose worker's lease is gone is an orphan, and `recover_orphans` queues it
again (paperfeed's jobs are safe to run twice) or, after MAX_ATTEMPTS workers died running it, marks
it failed with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket

from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import transaction
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from paperfeed.conf import env_int
from paperfeed.core import clock, leases, ratelimit
from paperfeed.core.models import Lease, ScheduledRun

log = logging.getLogger(__name__)

TASK_RESULTS_DAYS = 14
WORKER_TTL = 120.0  # (scaled) seconds a worker's lease lasts without renewal
WORKER_BEAT = 20.0  # (scaled) seconds between renewals (and orphan checks)
MAX_ATTEMPTS = 3  # workers that may die running one job before it is marked failed
WORKER_DIED = "paperfeed.core.tasks.WorkerDied"
# Mails a person waits for (a confirmation link, a password reset): each worker serves this queue
# in a lane of its own, so no long job (an index build, a digest run) holds them up.
MAIL_QUEUE = "mail"
LANE = "+mail"  # suffix of the mail lane's worker id; the lane lives and dies with its worker


@task()
def housekeeping() -> dict[str, int]:
    counters = ratelimit.prune()
    sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    call_command("prune_db_task_results", queue_name="*", min_age_days=TASK_RESULTS_DAYS, verbosity=0)
    recovered = recover_orphans()
    # A worker's lease is left behind when it was killed; its jobs were recovered above.
    old = leases.DbNow() - 86_400
    gone, _ = Lease.objects.filter(name__startswith="worker:", expires_at__lt=old).delete()
    return {
        "rate_counters": counters,
        "sessions": sessions,
        **recovered,
        "worker_leases": gone,
        "scheduled_runs": prune_scheduled_runs(),
    }


def prune_scheduled_runs() -> int:
    """Forget claimed slots older than PAPERFEED_SCHEDULE_KEEP_DAYS, each job's latest excepted.
    Slots are the database's (scaled) seconds, as the tick that claimed them took them."""
    cutoff = clock.db_wall() - env_int("PAPERFEED_SCHEDULE_KEEP_DAYS") * 86_400
    deleted, _ = ScheduledRun.objects.superseded_before(int(cutoff)).delete()
    return deleted


def worker_id() -> str:
    """This process's worker id: host:pid:start (like a lease holder), at most 64 characters
    (django-tasks' limit), so `paperfeed jobs` says on which machine and process a job runs."""
    holder = leases.me()
    host = socket.gethostname()
    return f"{host[:35]}{holder[len(host) :]}"[: 64 - len(LANE)]


def lease_name(worker: str) -> str:
    return f"worker:{worker.removesuffix(LANE)}"


def worker_alive(worker: str, leases_by_name: dict[str, Lease] | None = None) -> bool:
    name = lease_name(worker)
    lease = (
        leases_by_name.get(name)
        if leases_by_name is not None
        else Lease.objects.filter(name=name).annotate(now=leases.DbNow()).first()
    )
    if lease is None or not lease.holder:
        return False
    # Judged by the database's clock, which stamped it (another machine's may be off).
    return lease.expires_at >= lease.now and not leases.dead_here(lease.holder)  # type: ignore[attr-defined]


def worker_leases() -> dict[str, Lease]:
    """The workers' leases, each with `now`, the database's time when read."""
    found = Lease.objects.filter(name__startswith="worker:").annotate(now=leases.DbNow())
    return {lease.name: lease for lease in found}


def orphans(own: str | None = None) -> list[DBTaskResult]:
    """RUNNING jobs whose worker no longer lives, or that run under `own`, the caller's worker id,
    when it knows it runs none (its job loop ended on a database outage). A job claimed by a worker
    without a lease (plain `db_worker`, or a worker of an older release) counts as orphaned once it
    ran longer than a worker's lease lasts, so a restart during an upgrade takes no live job away.

    "Longer" is judged by the database's clock, not this process's: the claim's `started_at` is the
    claiming worker's own time (django-tasks stamps it), and the machine judging may be off by more
    than a lease lasts, which would take a live job away or leave a dead one for ever. The claimer's
    own skew remains: a worker that keeps no lease has no stamp of the database's to go by."""
    by_name = worker_leases()
    grace: dt.datetime | None = None  # asked of the database only when a job without a lease is found
    found = []
    for job in DBTaskResult.objects.running().order_by("started_at"):
        worker = job.worker_ids[-1] if job.worker_ids else ""
        if worker != own and worker_alive(worker, by_name):
            continue
        if lease_name(worker) not in by_name and job.started_at:
            if grace is None:
                grace = _db_now() - dt.timedelta(seconds=WORKER_TTL / clock.scale())
            if job.started_at > grace:
                continue
        found.append(job)
    return found


def _db_now() -> dt.datetime:
    """The database's wall clock, in real time (as timezone.now(), which it replaces in judgements)."""
    return dt.datetime.fromtimestamp(clock.db_wall() / clock.scale(), tz=dt.UTC)


def recover_orphans(own: str | None = None) -> dict[str, int]:
    requeued = failed = 0
    for job in orphans(own):
        worker = job.worker_ids[-1] if job.worker_ids else "?"
        with transaction.atomic():
            running = DBTaskResult.objects.filter(pk=job.pk, status=TaskResultStatus.RUNNING)
            if len(job.worker_ids) < MAX_ATTEMPTS:
                # The claim is undone; the worker that claims it next appends its id to worker_ids.
                n = running.update(status=TaskResultStatus.READY, started_at=None)
                requeued += n
                what = "queued again"
            else:
                reason = (
                    f"the worker running it stopped without finishing it ({worker}); "
                    f"{len(job.worker_ids)} workers died running this job, so it is not tried again"
                )
                n = running.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=timezone.now(),
                    exception_class_path=WORKER_DIED,
                    traceback=f"{WORKER_DIED}: {reason}\n",
                )
                failed += n
                what = "marked failed"
        if n:
            log.warning(
                "job %s (%s) was running under worker %s, which is gone: %s",
                job.pk,
                job.task_path,
                worker,
                what,
                extra={"job_id": str(job.pk), "task": job.task_path, "worker": worker},
            )
    return {"jobs_requeued": requeued, "jobs_failed": failed}
