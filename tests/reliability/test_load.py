"""The small forms of RELIABILITY L1 and L2 (the full runs, with their timings, are `paperfeed bench
load`): the same set-up, server and load generators as the benchmark, on a smaller home (real
papers, users with tokens, a day of submissions, the keyword index). A few seconds of wrk on `/`
and on the paper-list API; locust's mixed traffic for 15 s. Asserted: 0 non-2xx, 0 socket errors,
0 failures (an expected 429 is not one); no timings. On SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from paperfeed.bench import load
from tests.conftest import SNAPSHOT

pytestmark = [
    pytest.mark.database,
    pytest.mark.slow,
]


@pytest.mark.migrated
@pytest.mark.timeout(600)  # init, a 1,500-paper fixture, a server, wrk and 15 s of locust: ~3 min loaded
def test_read_path_and_mixed_traffic_without_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    fixture = load.prepare(cli_env, SNAPSHOT, papers=1500, users=60, logins=4)
    assert fixture["paper_count"] == 1500 and len(fixture["papers"]) == 50
    with load.serve(cli_env, workers=3) as base:
        day = fixture["date"]
        for path in ["/", f"/api/daily_papers?date={day}"]:  # a real page each, not an error page
            r = httpx.get(base + path, headers={"X-Forwarded-For": "10.9.9.9"}, timeout=60)
            assert r.status_code == 200, (path, r.status_code)
        # wrk's own form, but no timing: a slow answer on a busy machine is not a socket error here.
        home = load.wrk(f"{base}/", 3, timeout=30)
        api = load.wrk(f"{base}/api/daily_papers?date={day}", 3, xff=True, timeout=30)
        mixed = load.locust(base, fixture, ["MixedUser"], users=10, spawn_rate=10, seconds=15, env=cli_env)

    for run in (home, api):
        assert run["requests"] > 0 and run["non_2xx"] == 0 and run["socket_errors"] == 0, (
            run,
            load.server_errors(cli_env),
        )
    agg = mixed["stats"]["Aggregated"]
    assert agg["requests"] > 20, Path(mixed["log"]).read_text()[-2000:]
    assert agg["failures"] == 0 and mixed["failures"] == [], (mixed["failures"], load.server_errors(cli_env))
    assert mixed["exit_code"] == 0, Path(mixed["log"]).read_text()[-2000:]
    # Every kind of request of the mix went out (the 2% logins may miss a 15 s run).
    kinds = {name.split()[0] for name in mixed["stats"] if name != "Aggregated"}
    assert {"browse", "search"} <= kinds, kinds
