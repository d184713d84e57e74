"""`paperfeed bench auth-timing`: its figures in `bench all` (the timing itself is the benchmark's)."""

from __future__ import annotations

from paperfeed.bench import BENCHMARKS
from paperfeed.bench import all as bench_all


def test_registered_as_a_part_of_bench_all() -> None:
    assert BENCHMARKS["auth-timing"] == "paperfeed.bench.auth_timing"
    assert "auth-timing" in {p.key for p in bench_all._parts(False, 1000)}


def test_each_flow_is_judged_by_how_far_apart_its_medians_are() -> None:
    result = {
        "target_difference": 0.10,
        "flows": {
            "login": {"existing": {"median_ms": 98.0}, "unknown": {"median_ms": 100.0}, "difference": 0.02},
            "reset": {"existing": {"median_ms": 30.0}, "unknown": {"median_ms": 20.0}, "difference": 0.5},
        },
    }
    figs = {f.name.split(":")[0]: f for f in bench_all.EXTRACT["auth-timing"](result, {})}
    assert (figs["login"].value, figs["login"].target, figs["login"].met) == (2.0, 10.0, True)
    assert figs["reset"].met is False and figs["reset"].verdict == "missed by 400%"
    assert "30.0 vs 20.0 ms" in figs["reset"].name
