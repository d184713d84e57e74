"""`paperfeed bench load`: reading wrk's and locust's reports, the ratios of the regression gate,
the gate itself, and the figures `bench all` takes from the result."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paperfeed.bench import all as bench_all
from paperfeed.bench import load

WRK = """Running 30s test @ http://127.0.0.1:8000/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    98.12ms   20.11ms 410.00ms   80.00%
    Req/Sec   163.20     20.00   200.00     70.00%
  Latency Distribution
     50%   95.50ms
     75%  105.00ms
     90%  120.00ms
     99%    1.20s
  4890 requests in 30.02s, 210.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3
Requests/sec:    162.89
Transfer/sec:      7.01MB
"""

STATS_CSV = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    "GET,search,600,0,40,52.1,10.2,480.3,8000,19.9,0,40,45,50,55,70,120,200,300,480,480,480\n"
    "GET,probe,150,1,12,14.0,5.0,90.0,3000,5.0,0.03,12,13,14,15,20,30,50,80,90,90,90\n"
    ",Aggregated,750,1,30,44.0,5.0,480.3,7000,24.9,0.03,30,40,45,50,60,110,190,290,480,480,480\n"
)


def test_wrk_report_gives_rate_percentiles_and_every_kind_of_error() -> None:
    r = load.parse_wrk(WRK)
    assert r == {
        "requests": 4890,
        "requests_per_s": 162.9,
        "p50_ms": 95.5,
        "p99_ms": 1200.0,
        "non_2xx": 3,
        "socket_errors": 7,
    }


def test_a_clean_wrk_report_has_no_errors_and_garbage_is_refused() -> None:
    clean = "\n".join(line for line in WRK.splitlines() if "errors" not in line and "Non-2xx" not in line)
    r = load.parse_wrk(clean)
    assert (r["non_2xx"], r["socket_errors"]) == (0, 0)
    with pytest.raises(ValueError, match="not a wrk report"):
        load.parse_wrk("wrk: connection refused")


def test_locust_stats_per_request_name(tmp_path: Path) -> None:
    path = tmp_path / "out_stats.csv"
    path.write_text(STATS_CSV)
    stats = load.parse_locust_stats(path)
    assert stats["search"]["p95_ms"] == 120 and stats["search"]["requests"] == 600
    assert stats["probe"]["failures"] == 1
    assert stats["Aggregated"]["p95_ms"] == 110 and stats["Aggregated"]["requests_per_s"] == 24.9


def _result(home_rps: float = 160.0, api_rps: float = 40.0, search_rps: float = 80.0) -> dict:  # type: ignore[type-arg]
    return {
        "read_path": {
            "healthz": {"requests_per_s": 400.0, "p99_ms": 60.0},
            "home": {"requests_per_s": home_rps, "p99_ms": 200.0, "non_2xx": 0, "socket_errors": 0},
            "api": {"requests_per_s": api_rps, "p99_ms": 900.0, "non_2xx": 0, "socket_errors": 2},
        },
        "paired": {
            "home_rps_vs_healthz": home_rps / 400.0,
            "api_rps_vs_healthz": api_rps / 400.0,
            "search_rps_vs_healthz": search_rps / 400.0,
        },
        "search": {"p95_ms": 120.0, "probe_p95_ms": 30.0},
        "mixed": {"failures": 0, "p95_ms": 450.0},
        "targets": load.TARGETS,
    }


def test_ratios_are_taken_against_the_same_runs_baselines() -> None:
    assert load.ratios(_result()) == {
        "home_rps_vs_healthz": 0.4,
        "api_rps_vs_healthz": 0.1,
        "search_rps_vs_healthz": 0.2,
    }
    assert load.ratios({})["home_rps_vs_healthz"] is None


def test_paired_rounds_take_the_median_ratio_so_one_spoiled_round_does_not_count() -> None:
    rounds = [
        {"healthz": 400.0, "home": 100.0},
        {"healthz": 300.0, "home": 75.0},
        {"healthz": 400.0, "home": 20.0},  # another job took the core during this `/` run
        {"healthz": 500.0, "home": 125.0},
        {"healthz": 0.0, "home": 90.0},  # no baseline: left out
    ]
    assert load._median_ratio(rounds, "home") == 0.25
    assert load._median_ratio([], "home") is None


def test_the_gate_fails_only_beyond_25_percent_in_the_bad_direction() -> None:
    baseline = {"ratios": load.ratios(_result())}
    assert load.check(load.ratios(_result(home_rps=125.0, search_rps=61.0)), baseline) == []
    assert load.check(load.ratios(_result(home_rps=400.0, search_rps=300.0)), baseline) == []  # faster
    found = load.check(load.ratios(_result(home_rps=110.0, search_rps=59.0)), baseline)
    assert [f.split(":")[0] for f in found] == ["home_rps_vs_healthz", "search_rps_vs_healthz"]
    assert "31% worse" in found[0]
    assert load.check({}, baseline) == [f"{k}: not measured" for k in load.RATIOS]


def test_the_stored_baseline_is_what_the_gate_reads(tmp_path: Path) -> None:
    result = _result() | {"started": "2026-11-28T21:00:00+00:00", "database": "sqlite", "papers": 74728}
    result |= {"load_average": {"before": [1.0, 1.0, 1.0]}, "ratios": load.ratios(_result())}
    path = tmp_path / "perf" / "baseline.json"
    load.write_baseline(path, result)
    doc = json.loads(path.read_text())
    assert doc["ratios"] == load.ratios(_result()) and set(doc["meaning"]) == set(load.RATIOS)
    assert load.check(load.ratios(_result()), doc) == []


def test_a_regression_prints_the_result_as_json_does_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management.base import CommandError

    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"ratios": load.ratios(_result())}))
    ok = _result() | {"ratios": load.ratios(_result())}
    load.gate(ok, path)
    assert ok["check"] == {"baseline": str(path), "regressions": []} and capsys.readouterr().err == ""

    slow = _result(home_rps=50.0) | {"ratios": load.ratios(_result(home_rps=50.0))}
    slow["at"] = dt.datetime(2026, 11, 30, 18, 29, 41, tzinfo=dt.UTC)  # as an in-process figure may be
    with pytest.raises(CommandError, match="performance regression: home_rps_vs_healthz"):
        load.gate(slow, path)
    printed = json.loads(capsys.readouterr().err)
    assert printed["at"] == "2026-11-30T18:29:41+00:00"  # str() wrote "2026-11-30 18:29:41+00:00"
    assert printed["check"]["regressions"] == slow["check"]["regressions"]


def test_the_committed_baseline_names_every_ratio_of_the_gate() -> None:
    doc = json.loads((load.REPO / "perf" / "baseline.json").read_text())
    assert set(doc["ratios"]) == set(load.RATIOS)
    assert all(isinstance(v, float) and v > 0 for v in doc["ratios"].values())


def test_bench_all_judges_the_load_figures_against_reliability_targets() -> None:
    figs = {f.name: f for f in bench_all.EXTRACT["load"](_result(), {})}
    home, api = figs["`/` req/s"], figs["/api/daily_papers req/s"]
    assert home.met and home.baseline == 400.0 and home.ratio_to_baseline == 0.4
    assert api.verdict == "missed by 73%"
    assert figs["/api/daily_papers non-2xx + socket errors"].met is False
    assert figs["search p95 at 20 req/s"].met and figs["failures"].met and figs["p95"].met
    assert all(f.value is None for f in bench_all.EXTRACT["load"]({}, {}))
