import json
import time

import pytest

from paperfeed.core import schedule
from paperfeed.core.models import ScheduledRun
from tests.conftest import paperfeed
from tests.reliability.support import wait_until


@pytest.mark.django_db
def test_a_slot_is_claimed_once(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": []}}
    assert "digests.send" in schedule.JOBS
    now = 1_800_000_123.0
    assert "digests.send" in schedule.tick(now)
    assert schedule.tick(now + 5) == []  # same hour: already claimed
    assert "digests.send" in schedule.tick(now + 3600)  # the next slot
    runs = ScheduledRun.objects.filter(job="digests.send").order_by("slot")
    assert [r.slot % 3600 for r in runs] == [0, 0] and all(r.task_id for r in runs)


@pytest.mark.django_db
def test_tickers_whose_clocks_are_an_hour_apart_claim_one_slot(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two workers tick, one on a machine whose clock runs an hour ahead. By each one's own clock,
    that one claimed the next hour's slot while the other claimed this hour's: the hourly digest
    run went twice within the hour, and in the next hour not at all (its slot long claimed). Both
    read the hour from the database's clock now, and claim the same slot: once."""
    from paperfeed.core import clock

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": []}}
    job = schedule.JOBS["digests.send"]
    real = clock.wall
    for _ in range(3):  # an hour may begin between the two ticks: then they are asked again
        ScheduledRun.objects.all().delete()
        hour = schedule.slot_of(job, clock.db_wall())
        monkeypatch.setattr(clock, "wall", lambda: real() + 3600)  # the machine an hour ahead
        ahead = schedule.tick()
        monkeypatch.setattr(clock, "wall", real)
        on_time = schedule.tick()
        if schedule.slot_of(job, clock.db_wall()) == hour:
            break
    assert "digests.send" in ahead and "digests.send" not in on_time
    assert list(ScheduledRun.objects.filter(job="digests.send").values_list("slot", flat=True)) == [hour]


def test_next_run_is_the_current_slot_until_claimed_then_the_one_after() -> None:
    job = schedule.JOBS["digests.send"]
    hour = 1_800_000_000 // 3600 * 3600
    assert schedule.next_run(job, None, hour + 5) == (hour, True)  # never run
    assert schedule.next_run(job, hour - 3600, hour + 5) == (hour, True)  # last hour's only
    assert schedule.next_run(job, hour, hour + 5) == (hour + 3600, False)
    assert schedule.next_run(job, hour, hour + 3599.9) == (hour + 3600, False)
    assert schedule.next_run(job, hour, hour + 3600) == (hour + 3600, True)  # the next hour began


@pytest.mark.django_db
def test_list_shows_the_next_run_by_the_database_clock(settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The hour is fixed through the clock tick reads (clock.db_wall): the test is the same
    whenever it runs, an hour boundary included."""
    from django.core.management import call_command

    from paperfeed.core import clock

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": []}}
    now = 1_800_000_123.0  # 2027-01-15T08:02:03Z
    monkeypatch.setattr(clock, "db_wall", lambda using="default": now)

    def digests() -> dict:  # type: ignore[type-arg]
        call_command("schedule", "list", "--json")
        jobs = json.loads(capsys.readouterr().out)["jobs"]
        return next(j for j in jobs if j["job"] == "digests.send")  # type: ignore[no-any-return]

    assert (digests()["nextRun"], digests()["due"]) == ("2027-01-15T08:00:00Z", True)
    call_command("schedule", "tick")
    capsys.readouterr()
    job = digests()
    assert (job["nextRun"], job["due"], job["lastSlot"]) == ("2027-01-15T09:00:00Z", False, 1_800_000_000)
    call_command("schedule", "list")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("digests.send:"))
    assert line == (
        "digests.send: every 3600 s, last slot 2027-01-15T08:00:00Z, next run 2027-01-15T09:00:00Z"
    )
    now += 3600
    call_command("schedule", "list")
    assert "next run 2027-01-15T09:00:00Z (due)" in capsys.readouterr().out


@pytest.mark.django_db
def test_list_reads_every_jobs_last_slot_in_one_query(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def listed() -> tuple[dict[str, int | None], int]:
        with CaptureQueriesContext(connection) as queries:
            call_command("schedule", "list", "--json")
        jobs = json.loads(capsys.readouterr().out)["jobs"]
        return {j["job"]: j["lastSlot"] for j in jobs}, len(queries)

    jobs = dict(schedule.JOBS)
    monkeypatch.setattr(schedule, "JOBS", jobs)
    for n in range(2):
        jobs[f"test.job{n}"] = schedule.Job(f"test.job{n}", "paperfeed.core.tasks.housekeeping", 60)
    ScheduledRun.objects.bulk_create(
        [ScheduledRun(job="test.job0", slot=s) for s in (60, 600, 120)] + [ScheduledRun(job="other", slot=9)]
    )
    few, few_queries = listed()
    assert few["test.job0"] == 600 and few["test.job1"] is None and "other" not in few
    for n in range(2, 12):
        jobs[f"test.job{n}"] = schedule.Job(f"test.job{n}", "paperfeed.core.tasks.housekeeping", 60)
        ScheduledRun.objects.create(job=f"test.job{n}", slot=60 * n)
    many, many_queries = listed()
    assert len(many) == len(few) + 10 and many["test.job11"] == 660
    assert many_queries == few_queries == 2  # the database's clock and the last slots, however many jobs


# S13: six `paperfeed` children, each booting Django: ~30 s on a loaded 2-core machine, 200 s at
# load 19 (init and list 128 s, then 19 s a tick).
@pytest.mark.migrated
@pytest.mark.timeout(300)
@pytest.mark.database
def test_schedule_command(cli_env: dict[str, str]) -> None:
    jobs = json.loads(paperfeed("schedule", "list", "--json", env=cli_env).stdout)["jobs"]
    (digests,) = [{k: v for k, v in j.items() if k != "nextRun"} for j in jobs if j["job"] == "digests.send"]
    assert digests == {
        "job": "digests.send",
        "task": "paperfeed.digests.tasks.send_due_digests",
        "every": 3600,
        "lastSlot": None,
        "last_slot": None,  # its 0.1 name, until 0.2
        "due": True,  # never run: whatever the hour, its slot is unclaimed
    }

    def tick() -> list[str]:
        return json.loads(paperfeed("schedule", "tick", "--json", env=cli_env).stdout)["enqueued"]

    assert "digests.send" in tick()  # a fresh database: nobody has claimed this hour's slot
    # A tick in a slot already claimed enqueues nothing. Each tick boots Django (seconds on a loaded
    # machine), so a pair can straddle the hour, when the later one rightly claims the new slot: such
    # a pair says nothing, and the next pair falls within one hour.
    while True:
        hour = time.time() // 3600
        tick()
        again = tick()
        if time.time() // 3600 == hour:
            break
    assert "digests.send" not in again


# init, a worker and a `schedule list` child per poll: the default 60 s ran out at load 20.
@pytest.mark.migrated
@pytest.mark.timeout(180)
@pytest.mark.database
def test_the_worker_ticks_by_itself_and_runs_the_job(cli_env: dict[str, str]) -> None:
    import subprocess
    import sys

    env = {**cli_env, "PAPERFEED_SCHEDULE_TICK": "0.2"}

    def ticked() -> bool:
        jobs = json.loads(paperfeed("schedule", "list", "--json", env=cli_env).stdout)["jobs"]
        return next(j for j in jobs if j["job"] == "digests.send")["last_slot"] is not None

    worker = subprocess.Popen([sys.executable, "-m", "paperfeed", "worker", "--interval", "0.2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        # Each poll is a child booting Django: as long as the test's timeout allows, not a fixed minute.
        wait_until(ticked, None, "the worker to tick", poll=0.5)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert "Traceback" not in err
