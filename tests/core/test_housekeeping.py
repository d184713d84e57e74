"""The hourly housekeeping job prunes what requests leave behind (rate-limit windows, expired
sessions) and keeps what still counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from paperfeed.core import clock, ratelimit, schedule
from paperfeed.core.models import RateCounter
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
    }
    assert (
        list(RateCounter.objects.values_list("bucket", flat=True)) != []
        and not RateCounter.objects.filter(bucket="test:old").exists()
    )
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
