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


# S13: six `paperfeed` children, each booting Django: ~30 s on a loaded 2-core machine, 200 s at
# load 19 (init and list 128 s, then 19 s a tick).
@pytest.mark.migrated
@pytest.mark.timeout(300)
@pytest.mark.database
def test_schedule_command(cli_env: dict[str, str]) -> None:
    jobs = json.loads(paperfeed("schedule", "list", "--json", env=cli_env).stdout)["jobs"]
    assert {
        "job": "digests.send",
        "task": "paperfeed.digests.tasks.send_due_digests",
        "every": 3600,
        "lastSlot": None,
        "last_slot": None,  # its 0.1 name, until 0.2
    } in jobs

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
