"""A background job that records each run of itself, for the many-workers test.

    python -m tests.reliability.jobs enqueue N   # create the record table, enqueue N jobs
    python -m tests.reliability.jobs stats       # JSON: rows, distinct keys, worker pids, task states

The record table has no unique constraint on purpose: a job run twice shows up as two rows
instead of as a failed task."""

from __future__ import annotations

import os
import sys

from django.db import connection
from django.tasks import task

TABLE = "reliability_job_runs"


@task()
def record(key: int) -> int:
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (job_key, pid) VALUES (%s, %s)", [key, os.getpid()])
    return key


def _enqueue(n: int) -> None:
    from django.db import transaction

    from tests.reliability.jobs import record  # the importable name, not __main__'s

    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (job_key integer NOT NULL, pid integer NOT NULL)")
    with transaction.atomic():
        for key in range(n):
            record.enqueue(key)


def _stats() -> dict[str, object]:
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), COUNT(DISTINCT job_key) FROM {TABLE}")
        rows, distinct = cur.fetchone()
        cur.execute(f"SELECT pid, COUNT(*) FROM {TABLE} GROUP BY pid")
        per_pid = dict(cur.fetchall())
    states = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")))
    return {"rows": rows, "distinct": distinct, "per_pid": per_pid, "states": states}


if __name__ == "__main__":
    import json

    import django

    django.setup()  # DJANGO_SETTINGS_MODULE is set by the caller: @task reads settings on import
    if sys.argv[1] == "enqueue":
        _enqueue(int(sys.argv[2]))
    else:
        print(json.dumps(_stats(), default=str))
