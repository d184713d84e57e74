"""Many `paperfeed worker` processes on one database run every queued job exactly once
(issue 7: 4 workers and 1,000 jobs on PostgreSQL; 2 workers on SQLite, whose single writer makes
more workers pointless)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from tests.reliability.support import spawn, tool

pytestmark = [pytest.mark.database, pytest.mark.slow, pytest.mark.migrated]


def _jobs(*args: str, env: dict[str, str]) -> str:
    return tool(*args, env=env, module="tests.reliability.jobs")


def _run(cli_env: dict[str, str], tmp_path: Path, jobs: int, workers: int) -> dict[str, object]:
    _jobs("enqueue", str(jobs), env=cli_env)
    procs = [
        spawn(
            "worker", "--batch", "--no-schedule", "--interval", "0.05", env=cli_env, log=tmp_path / f"{i}.log"
        )
        for i in range(workers)
    ]
    codes = [p.wait(timeout=600) for p in procs]
    logs = "".join((tmp_path / f"{i}.log").read_text() for i in range(workers))
    assert codes == [0] * workers, logs[-3000:]
    assert "Traceback" not in logs
    stats = json.loads(_jobs("stats", env=cli_env))
    assert stats["rows"] == jobs and stats["distinct"] == jobs  # each job ran, none twice
    assert stats["states"] == {"SUCCESSFUL": jobs}
    return stats


@pytest.mark.timeout(120)  # init and four worker children: ~11 s quiet
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the PostgreSQL form (DATABASE_URL=postgres://…)")
def test_four_workers_run_a_thousand_jobs_once_on_postgres(cli_env: dict[str, str], tmp_path: Path) -> None:
    stats = _run(cli_env, tmp_path, jobs=1000, workers=4)
    assert len(stats["per_pid"]) > 1  # type: ignore[arg-type]  # the work was shared, not serialised


@pytest.mark.timeout(120)  # init and two worker children: ~8 s quiet, 11 s at load 7
@pytest.mark.skipif(settings.IS_POSTGRES, reason="the SQLite form")
def test_two_workers_run_every_job_once_on_sqlite(cli_env: dict[str, str], tmp_path: Path) -> None:
    _run(cli_env, tmp_path, jobs=300, workers=2)
