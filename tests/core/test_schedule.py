import json

import pytest

from paperfeed.core import schedule
from paperfeed.core.models import ScheduledRun
from tests.conftest import paperfeed


@pytest.mark.django_db
def test_a_slot_is_claimed_once(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    assert "digests.send" in schedule.JOBS
    now = 1_800_000_123.0
    assert "digests.send" in schedule.tick(now)
    assert schedule.tick(now + 5) == []  # same hour: already claimed
    assert "digests.send" in schedule.tick(now + 3600)  # the next slot
    runs = ScheduledRun.objects.filter(job="digests.send").order_by("slot")
    assert [r.slot % 3600 for r in runs] == [0, 0] and all(r.task_id for r in runs)


@pytest.mark.database
def test_schedule_command(cli_env: dict[str, str]) -> None:
    paperfeed("init", env=cli_env)
    jobs = json.loads(paperfeed("schedule", "list", "--json", env=cli_env).stdout)["jobs"]
    assert {
        "job": "digests.send",
        "task": "paperfeed.digests.tasks.send_due_digests",
        "every": 3600,
        "last_slot": None,
    } in jobs
    first = json.loads(paperfeed("schedule", "tick", "--json", env=cli_env).stdout)["enqueued"]
    second = json.loads(paperfeed("schedule", "tick", "--json", env=cli_env).stdout)["enqueued"]
    assert "digests.send" in first and "digests.send" not in second
