"""The hourly housekeeping job prunes what requests leave behind (rate-limit windows, expired
sessions, the scheduler's old claims) and keeps what still counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from paperfeed.core import clock, ratelimit, schedule
from paperfeed.core.models import RateCounter, ScheduledRun
from paperfeed.core.tasks import housekeeping


@pytest.mark.django_db
def test_housekeeping_prunes_old_counters_and_expired_sessions() -> None:
    assert schedule.JOBS["core.housekeeping"].task == "paperfeed.core.tasks.housekeeping"
    ratelimit.hit("test", "fresh", limit=10, window=300)
    RateCounter.objects.create(bucket="test:old", window_start=int(clock.wall()) - 3 * 86_400, hits=5)
    live = SessionStore()
    live["x"] = 1
    live.create()
    Session.objects.create(
        session_key="expired0000000000000000000000000",
        session_data="",
        expire_date=timezone.now() - dt.timedelta(days=1),
    )
    out = housekeeping.call()
    assert out == {
        "rate_counters": 1,
        "sessions": 1,
        "jobs_requeued": 0,
        "jobs_failed": 0,
        "worker_leases": 0,
        "scheduled_runs": 0,
    }
    assert (
        list(RateCounter.objects.values_list("bucket", flat=True)) != []
        and not RateCounter.objects.filter(bucket="test:old").exists()
    )
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


@pytest.mark.django_db
def test_housekeeping_forgets_old_claimed_slots_but_each_jobs_latest(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    day = 86_400
    now = int(clock.db_wall())
    slots = {
        "hourly": [now - 100 * day, now - 95 * day, now - 89 * day, now - day],
        "rare": [now - 400 * day],  # ran once, long ago: its only claim says so
        "retired": [now - 200 * day, now - 199 * day],
    }
    for job, claimed in slots.items():
        ScheduledRun.objects.bulk_create(ScheduledRun(job=job, slot=slot) for slot in claimed)
    last = ScheduledRun.objects.last_slots(list(slots))

    assert housekeeping.call()["scheduled_runs"] == 3
    left = sorted(ScheduledRun.objects.values_list("job", "slot"))
    assert left == [
        ("hourly", now - 89 * day),
        ("hourly", now - day),
        ("rare", now - 400 * day),
        ("retired", now - 199 * day),
    ]
    assert ScheduledRun.objects.last_slots(list(slots)) == last

    monkeypatch.setenv("PAPERFEED_SCHEDULE_KEEP_DAYS", "2")
    assert housekeeping.call()["scheduled_runs"] == 1
    assert ScheduledRun.objects.filter(job="hourly").get().slot == now - day


@pytest.mark.django_db
def test_a_retention_shorter_than_a_slot_does_not_make_a_job_due_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With nothing kept but each job's latest claim, the current slots stay claimed: a tick
    after the pruning enqueues nothing (it would run every job again had their claims gone)."""
    now = clock.db_wall()
    earlier = schedule.tick(now - 7 * 86_400)
    assert set(schedule.tick(now)) == set(earlier) == set(schedule.JOBS)
    monkeypatch.setenv("PAPERFEED_SCHEDULE_KEEP_DAYS", "0")
    assert housekeeping.call()["scheduled_runs"] == len(schedule.JOBS)
    assert ScheduledRun.objects.count() == len(schedule.JOBS)
    assert schedule.tick(now) == []
