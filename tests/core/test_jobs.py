"""Jobs whose worker died: a worker killed mid-job (kill -9, systemd's SIGKILL after
TimeoutStopSec) leaves its job RUNNING; a live worker queues it again, or marks it failed once
several workers died running it, and `paperfeed jobs` shows the queue."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command
from django.tasks.signals import task_finished
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from paperfeed.core import clock, leases, tasks
from paperfeed.core.management.commands.worker import Heartbeat, MailLane
from paperfeed.core.models import Lease
from paperfeed.core.tasks import housekeeping
from paperfeed.digests.services import add_subscribers
from paperfeed.search.tasks import index_papers

pytestmark = pytest.mark.django_db


def dead_worker() -> str:
    """The worker id and lease of a `paperfeed worker` that was killed on this machine."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    worker = f"{socket.gethostname()}:{proc.stdout.strip()}:12345"
    Lease.objects.create(name=tasks.lease_name(worker), holder=worker, expires_at=clock.wall() + 3600)
    return worker


def running_under(worker: str, *, attempts: int = 1, minutes_ago: int = 0) -> DBTaskResult:
    job = DBTaskResult.objects.get(pk=housekeeping.enqueue().id)
    job.worker_ids = [f"earlier-{i}" for i in range(attempts - 1)]
    job.claim(worker)
    if minutes_ago:
        job.started_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
        job.save(update_fields=["started_at"])
    return job


def test_a_running_job_whose_worker_is_gone_is_queued_again_and_a_live_ones_is_left() -> None:
    orphan = running_under(dead_worker())
    far = running_under("elsewhere:1:1")  # another machine: dead once its lease expires
    Lease.objects.create(
        name=tasks.lease_name("elsewhere:1:1"), holder="elsewhere:1:1", expires_at=clock.wall() - 1
    )
    heart = Heartbeat(tasks.worker_id())
    heart.beat()
    live = running_under(heart.worker)
    fresh = running_under("db-worker-without-lease")  # just claimed by a worker that keeps no lease
    assert tasks.recover_orphans() == {"jobs_requeued": 2, "jobs_failed": 0}
    for job in (orphan, far):
        job.refresh_from_db()
        assert job.status == "READY" and job.started_at is None
    assert orphan.task_result.status == "READY"
    for job in (live, fresh):
        job.refresh_from_db()
        assert job.status == "RUNNING"
    assert tasks.recover_orphans() == {"jobs_requeued": 0, "jobs_failed": 0}


def test_a_job_without_a_worker_lease_is_recovered_once_it_ran_longer_than_a_lease_lasts() -> None:
    job = running_under("db-worker-without-lease", minutes_ago=10)
    assert tasks.recover_orphans()["jobs_requeued"] == 1
    job.refresh_from_db()
    assert job.status == "READY"


@pytest.mark.parametrize(
    ("ran_for", "skew", "requeued"),
    [
        (dt.timedelta(seconds=10), dt.timedelta(hours=1), 0),  # a judge an hour ahead: still running
        (dt.timedelta(minutes=10), -dt.timedelta(hours=1), 1),  # an hour behind: long gone all the same
    ],
)
def test_how_long_a_job_without_a_worker_lease_ran_is_judged_by_the_databases_clock(
    monkeypatch: pytest.MonkeyPatch, ran_for: dt.timedelta, skew: dt.timedelta, requeued: int
) -> None:
    """Claimed by a worker whose clock agrees with the database's, judged by a process whose own is
    off by an hour: by its clock the job just claimed had run an hour (taken away from a live worker)
    and the one claimed ten minutes ago had not started yet (left RUNNING for another hour)."""
    job = running_under("db-worker-without-lease")
    db_now = dt.datetime.fromtimestamp(clock.db_wall() / clock.scale(), tz=dt.UTC)
    job.started_at = db_now - ran_for
    job.save(update_fields=["started_at"])
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + skew)
    assert tasks.recover_orphans()["jobs_requeued"] == requeued
    job.refresh_from_db()
    assert job.status == ("READY" if requeued else "RUNNING")


def test_a_job_that_outlived_several_workers_fails_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker = dead_worker()
    job = running_under(worker, attempts=tasks.MAX_ATTEMPTS)
    assert tasks.recover_orphans() == {"jobs_requeued": 0, "jobs_failed": 1}
    job.refresh_from_db()
    assert job.status == "FAILED" and job.finished_at is not None
    call_command("jobs", "--json", "--status", "failed")
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"failed": 1}
    [row] = out["jobs"]
    assert row["id"] == str(job.pk) and row["name"] == "housekeeping" and row["state"] == "failed"
    assert row["worker"] == worker and row["attempts"] == tasks.MAX_ATTEMPTS
    assert row["error"].startswith(f"{tasks.WORKER_DIED}: the worker running it stopped without finishing it")


def test_the_listing_shows_queued_and_running_jobs_and_whether_their_worker_lives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead_worker_id = dead_worker()
    orphan = running_under(dead_worker_id)
    queued = housekeeping.enqueue()
    call_command("jobs", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"queued": 1, "running": 1, "failed": 0}
    by_id = {j["id"]: j for j in out["jobs"]}
    assert by_id[str(queued.id)]["state"] == "queued" and by_id[str(queued.id)]["worker"] is None
    row = by_id[str(orphan.pk)]
    assert row["state"] == "running" and row["worker_alive"] is False and row["started_at"]
    # ISO 8601 with its T and offset, as the API prints times (str() gave "2026-11-30 18:29:41+00:00").
    for job, field in ((orphan, "started_at"), (DBTaskResult.objects.get(pk=queued.id), "enqueued_at")):
        printed = by_id[str(job.pk)][field]
        assert "T" in printed and dt.datetime.fromisoformat(printed) == getattr(job, field), printed
        assert dt.datetime.fromisoformat(printed).utcoffset() is not None
    assert out["workers"] == [{"worker": dead_worker_id, "alive": False}]
    call_command("jobs")
    text = capsys.readouterr().out
    assert "1 queued, 1 running, 0 failed" in text and "its worker is gone" in text
    # The listing's times had no zone ("started 2026-11-30 18:29:41"): now UTC, with its offset.
    started = re.search(r"started (\S+) on ", text)
    assert started is not None, text
    assert dt.datetime.fromisoformat(started.group(1)) == orphan.started_at.replace(microsecond=0)
    assert started.group(1).endswith("+00:00")
    assert f"enqueued {DBTaskResult.objects.get(pk=queued.id).enqueued_at:%Y-%m-%dT%H:%M:%S}+00:00" in text
    assert "no worker alive" in text


def test_the_listing_names_the_live_workers(capsys: pytest.CaptureFixture[str]) -> None:
    # An empty queue with no worker looked as healthy as one with workers idling.
    heart = Heartbeat(tasks.worker_id())
    heart.beat()
    dead = dead_worker()
    call_command("jobs", "--json")
    workers = json.loads(capsys.readouterr().out)["workers"]
    assert {"worker": heart.worker, "alive": True} in workers
    assert {"worker": dead, "alive": False} in workers
    call_command("jobs")
    assert f"workers alive: 1 ({heart.worker})" in capsys.readouterr().out


def test_housekeeping_recovers_orphans_and_drops_the_leases_of_long_dead_workers() -> None:
    running_under(dead_worker())
    Lease.objects.create(name="worker:old:1:1", holder="old:1:1", expires_at=clock.wall() - 2 * 86_400)
    Lease.objects.create(name="harvest:x", holder="old:1:1", expires_at=clock.wall() - 2 * 86_400)
    out = housekeeping.call()
    assert out["jobs_requeued"] == 1 and out["worker_leases"] == 1
    assert Lease.objects.filter(name="harvest:x").exists()


def test_the_worker_id_fits_django_tasks_and_names_this_process() -> None:
    worker = tasks.worker_id()
    assert len(worker) <= 64 and worker.split(":")[1] == str(leases.me().split(":")[1])


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_starts_runs_what_a_killed_worker_left_running() -> None:
    job = running_under(dead_worker())
    call_command("worker", "--batch", "--no-schedule", verbosity=0)
    job.refresh_from_db()
    assert job.status == "SUCCESSFUL" and len(job.worker_ids) == 2
    assert job.worker_ids[-1] == tasks.worker_id()
    assert not Lease.objects.filter(name=tasks.lease_name(tasks.worker_id())).exists()  # it left cleanly


def test_a_worker_back_from_a_database_outage_recovers_the_job_it_was_running() -> None:
    heart = Heartbeat(tasks.worker_id())
    heart.beat()
    job = running_under(heart.worker)
    assert tasks.recover_orphans()["jobs_requeued"] == 0  # alive: someone else must not take it
    assert tasks.recover_orphans(own=heart.worker)["jobs_requeued"] == 1
    job.refresh_from_db()
    assert job.status == "READY"


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_mail_is_sent_while_a_long_job_holds_the_main_loop(smtp_sink) -> None:  # type: ignore[no-untyped-def]
    """The walkthrough's carol: subscribed while the worker's main loop was in a 6-minute index
    build. The mail lane of the same worker sends her confirmation meanwhile."""
    heart = Heartbeat(tasks.worker_id())
    heart.beat()
    build = DBTaskResult.objects.get(pk=index_papers.enqueue().id)
    build.claim(heart.worker)  # the main loop's job, running for minutes
    add_subscribers(["carol@lab.example"], frequency="daily", confirmed=False)
    [notice] = DBTaskResult.objects.filter(queue_name=tasks.MAIL_QUEUE)
    sent = threading.Event()

    def finished(sender: object, task_result: object, **kwargs: object) -> None:
        sent.set()

    task_finished.connect(finished)
    lane = MailLane(heart.worker + tasks.LANE, interval=0.05)
    lane.start()
    try:
        assert sent.wait(50)  # bounded by the suite's timeout, not a measured duration
    finally:
        lane.stop()
        task_finished.disconnect(finished)
    notice.refresh_from_db()
    assert notice.status == "SUCCESSFUL" and notice.worker_ids == [heart.worker + tasks.LANE]
    assert len(smtp_sink.to("carol@lab.example")) == 1
    build.refresh_from_db()
    assert build.status == "RUNNING"
    assert tasks.lease_name(notice.worker_ids[0]) == tasks.lease_name(heart.worker)
