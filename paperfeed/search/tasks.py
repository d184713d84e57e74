"""Background indexing: enqueued (after the transaction commits) whenever an import, harvest or fetch
stored papers, so keyword search covers them within a minute and semantic search within minutes."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from paperfeed.core import clock

log = logging.getLogger(__name__)

# While another indexer runs on this node, the job comes back this many (scaled) seconds later.
BUSY_RETRY_SECONDS = 60.0


@task
def index_papers() -> dict[str, Any]:
    # Imported here: every process loads this module at start-up (the signal below), few index.
    from paperfeed.search.indexing import IndexBusy, Indexer

    try:
        # The keyword index is committed before the slow embedding pass starts.
        return Indexer().run(wait=False)
    except IndexBusy:
        pass
    # Waiting for the lock would hold this worker (mail, digests, housekeeping) for as long as the
    # other build takes. Returning is not enough either: that indexer read the change log when it
    # started, so the changes that enqueued this job may be newer than what it covers. One queued
    # job is enough to cover them: a later run indexes everything up to the newest change.
    if pending_index_jobs() == 0:
        later = timezone.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS / clock.scale())
        index_papers.using(run_after=later).enqueue()
    log.info("another indexer is running here; indexing again in %.0f s", BUSY_RETRY_SECONDS)
    return {"skipped": "another indexer is running here", "retry_in_s": BUSY_RETRY_SECONDS}


def pending_index_jobs() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=index_papers.module_path, status="READY").count()


def on_papers_ingested(sender: object, **kwargs: Any) -> None:
    transaction.on_commit(index_papers.enqueue)
