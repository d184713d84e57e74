"""Background indexing: enqueued (after the transaction commits) whenever an import, harvest or fetch
stored papers, so keyword search covers them within a minute and semantic search within minutes.

And the keyword index's rebuild after an upgrade changed its layout (indexing.py): the first process
that finds the index stale enqueues one `rebuild_keyword_index` for all of them (queue_keyword_rebuild,
under a lease), and `paperfeed check` and /healthz say where it stands (keyword_health)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.tasks import Task, task
from django.utils import timezone

from paperfeed.core import clock, leases

log = logging.getLogger(__name__)

# While another indexer runs on this node, the job comes back this many (scaled) seconds later.
BUSY_RETRY_SECONDS = 60.0
# A rebuild that ended this many (scaled) seconds ago, and left the index stale (it failed, or it
# ran on another machine's worker, whose index it was), is not enqueued again before then.
REBUILD_RETRY_SECONDS = 600.0
# The lease under which a process decides whether to enqueue the rebuild: held for a few queries.
REBUILD_LEASE = "search.keyword-rebuild"
REBUILD_LEASE_TTL = 30.0
NOT_QUEUED = "no rebuild queued"


@task
def index_papers() -> dict[str, Any]:
    # Imported here: every process loads this module at start-up (the signal below), few index.
    from paperfeed.search.indexing import IndexBusy, Indexer

    try:
        # The keyword index is committed before the slow embedding pass starts.
        return Indexer().run(wait=False)
    except IndexBusy:
        return _come_back_later(index_papers)


@task
def rebuild_keyword_index() -> dict[str, Any]:
    """Bring this machine's keyword index up to date, which builds it again when its layout is not
    the code's (so does every index run: this one only spares the embeddings' pass)."""
    from paperfeed.search.indexing import IndexBusy, Indexer

    try:
        return Indexer().run(semantic=False, wait=False)
    except IndexBusy:
        # The running indexer rebuilds it, if it is of this version; if not (an older worker still
        # finishing a job during the upgrade), this comes back to do it.
        return _come_back_later(rebuild_keyword_index)


def _come_back_later(again: Task[[], dict[str, Any]]) -> dict[str, Any]:
    # Waiting for the lock would hold this worker (mail, digests, housekeeping) for as long as the
    # other build takes. Returning is not enough either: that indexer read the change log when it
    # started, so the changes that enqueued this job may be newer than what it covers. One queued
    # job is enough to cover them: a later run indexes everything up to the newest change.
    if pending_index_jobs(again) == 0:
        later = timezone.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS / clock.scale())
        again.using(run_after=later).enqueue()
    log.info("another indexer is running here; indexing again in %.0f s", BUSY_RETRY_SECONDS)
    return {"skipped": "another indexer is running here", "retry_in_s": BUSY_RETRY_SECONDS}


def pending_index_jobs(of: Task[[], dict[str, Any]] = index_papers) -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=of.module_path, status="READY").count()


def on_papers_ingested(sender: object, **kwargs: Any) -> None:
    transaction.on_commit(index_papers.enqueue)


def rebuild_state() -> str:
    """Where the keyword index's rebuild stands, in words: "rebuild queued", "rebuild running",
    "rebuild failed (…)", "rebuilt … by a worker on another machine", or NOT_QUEUED: none of these
    (no rebuild, or the last ended REBUILD_RETRY_SECONDS ago or more)."""
    from django_tasks_db.models import DBTaskResult

    last = (
        DBTaskResult.objects.filter(task_path=rebuild_keyword_index.module_path)
        .order_by("-enqueued_at")
        .first()
    )
    if last is None:
        return NOT_QUEUED
    if last.status == "READY":
        return "rebuild queued"
    if last.status == "RUNNING":
        return "rebuild running"
    ago = (timezone.now() - (last.finished_at or last.enqueued_at)).total_seconds() * clock.scale()
    if ago >= REBUILD_RETRY_SECONDS:
        return NOT_QUEUED
    when = f"{ago / 60:.0f} min ago" if ago >= 60 else "just now"
    if last.status == "FAILED":
        what = last.exception_class_path.rpartition(".")[2] or "an error"
        again = f"{REBUILD_RETRY_SECONDS / 60:.0f} min"
        return f"rebuild failed {when} ({what}; `paperfeed jobs` shows why), queued again {again} after"
    # It ran on the machine of the worker that took it: this one runs `paperfeed index` itself.
    return f"rebuilt {when} by a worker on another machine; run `paperfeed index` here"


def queue_keyword_rebuild(stale: Callable[[], str | None]) -> str:
    """Enqueue the keyword index's rebuild, unless one is queued or running, ended less than
    REBUILD_RETRY_SECONDS ago, or the index is no longer stale (`stale()`, asked last: a rebuild
    that swapped its index in ends after it); what rebuild_state says then. Any number of processes
    call it as they find the index stale: the lease lets one decide at a time, so one is queued."""
    held = leases.try_acquire(REBUILD_LEASE, REBUILD_LEASE_TTL)
    if held is None:
        return "rebuild queued"  # another process is queueing it this moment
    try:
        state = rebuild_state()
        if state != NOT_QUEUED or stale() is None:
            return state
        with transaction.atomic():
            held.renew()  # fenced: a holder stalled past the lease's expiry queues nothing
            rebuild_keyword_index.enqueue()
        log.warning("keyword index: a rebuild is queued for the workers")
        return "rebuild queued"
    finally:
        held.release()


def keyword_health() -> str | None:
    """ "keyword index: schema v1, code expects v2, rebuild queued" while this machine's keyword
    index is stale (its layout is not the code's), else None. Enqueues nothing."""
    from django.db import DatabaseError

    from paperfeed.search.indexing import keyword_staleness

    try:
        stale = keyword_staleness()
    except OSError as e:  # searches fail on it too
        return f"keyword index: cannot be read ({e.strerror})"
    if stale is None:
        return None
    try:
        state = rebuild_state()
    except DatabaseError:  # the queue's table missing (before `paperfeed init`) or the database down
        state = "the job queue cannot be read"
    return f"keyword index: {stale}, {state}"
