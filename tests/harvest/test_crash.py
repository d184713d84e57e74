"""H3 in small: the harvest killed three times (tests/chaos/targets/harvest.py; the full form is
`python tests/chaos/run.py --target harvest --kills 20 --seed S`, 10,000 records)."""

from __future__ import annotations

import pytest

from tests.chaos.targets.harvest import run_scenario

pytestmark = pytest.mark.database


# The scenario's own `init` then finds the database migrated (the chaos run's starts empty).
@pytest.mark.migrated
@pytest.mark.timeout(300)  # four CLI processes and a fake arXiv: ~25 s idle, 70 s at load 26
def test_harvest_killed_three_times_ends_complete_without_duplicates(cli_env: dict[str, str]) -> None:
    result = run_scenario(cli_env, kills=3, seed=7, records=1200, pages=12)
    assert result["kills"] >= 1
    assert result["final"]["rows"] == 1200 and result["final"]["duplicates"] == 0
