"""`paperfeed bench all`: figures judged against their targets, and the report they make."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paperfeed.bench import all as bench_all
from paperfeed.bench.all import Figure


def test_a_figure_says_whether_and_by_how_much_it_misses() -> None:
    fast = Figure("g", "rate", 6000, "papers/s", target=5000, higher_is_better=True, baseline=50000)
    slow = Figure("g", "rate", 4000, "papers/s", target=5000, higher_is_better=True)
    p95 = Figure("g", "p95", 50, "ms", target=40, higher_is_better=False)
    assert (fast.met, fast.verdict, fast.ratio_to_baseline) == (True, "met", 0.12)
    assert (slow.met, slow.verdict) == (False, "missed by 20%")
    assert (p95.met, p95.verdict) == (False, "missed by 25%")
    assert Figure("g", "x", None, "s", target=1).verdict == "not measured"
    assert Figure("g", "x", 3, "s").verdict == "no target"


def test_import_result_gives_rate_and_memory_per_database() -> None:
    result = {
        "baseline": {"records_per_s": 50000},
        "runs": [
            {
                "database": "sqlite",
                "papers_per_s": 5200,
                "target_papers_per_s": 5000,
                "peak_rss_mb": 250,
                "memory_target_mb": 400,
            },
            {
                "database": "postgres",
                "papers_per_s": 2900,
                "target_papers_per_s": 3000,
                "peak_rss_mb": 260,
                "memory_target_mb": 400,
            },
        ],
    }
    figs = {f.name: f for f in bench_all.EXTRACT["import"](result, {})}
    assert figs["import, sqlite"].met and figs["import, sqlite"].baseline == 50000
    assert figs["import, postgres"].verdict == "missed by 3%"
    assert figs["peak RSS, postgres"].met


def test_a_partial_result_reports_not_measured_instead_of_failing() -> None:
    figs = bench_all.EXTRACT["search-speed"]({"targets": {"p95_ms_75k": 40}}, {})
    assert figs and all(f.value is None for f in figs)


def test_scale_pages_are_judged_against_the_75k_web_run_of_the_same_bench() -> None:
    web = {
        "web": {"ok": True, "result": {"daily": {"p99_ms": 10.0}, "paper": {"p99_ms": 10.0}}},
        "web-postgres": {"ok": True, "result": {"daily": {"p99_ms": 40.0}, "paper": {"p99_ms": 30.0}}},
    }
    result = {
        "papers": 1_000_000,
        "database": "postgres",
        "targets": {
            "hybrid_p95_ms": 100,
            "search_peak_mb": 4096,
            "digest_seconds": 60,
            "pages_p99_vs_75k": 2.0,
        },
        "build": {"import_s": 400.0, "keyword_build_s": 900.0},
        "search": {
            "hybrid": {"p50_ms": 30, "p95_ms": 90, "peak_rss_mb": 5100, "peak_private_mb": 700},
            "keyword": {"p95_ms": 50},
        },
        "pages": {"daily": {"p99_ms": 100.0}, "paper": {"p99_ms": 50.0}},
        "digest": {
            "subscribers": 10000,
            "seconds": 30.0,
            "baseline_seconds": 3.0,
            "baseline_subscribers": 1000,
        },
    }
    figs = {f.name: f for f in bench_all.EXTRACT["scale"](result, web)}
    assert (
        figs["daily page p99 (1M)"].target == 80.0 and figs["daily page p99 (1M)"].verdict == "missed by 25%"
    )
    assert figs["paper page p99 (1M)"].met
    assert figs["hybrid p95"].met and figs["hybrid serving private memory (RssAnon)"].met
    # RSS with the mapped vector file is shown, not judged: those pages are the shared page cache.
    assert figs["hybrid serving peak RSS (with the shared, mapped vector file)"].target is None
    assert figs["import (1M)"].value == 2500.0 and figs["import (1M)"].baseline is None
    assert figs["digests, 10000 subscribers (1M)"].met
    assert {f.group for f in figs.values()} == {"Scale (1M, PostgreSQL)"}


def test_report_lists_misses_failed_parts_and_draws_a_plot_per_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = {
        "digest": {
            "ok": True,
            "seconds": 1.0,
            "result": {
                "database": "sqlite",
                "subscribers": 10000,
                "seconds": 70.0,
                "target_seconds": 60,
                "baseline_seconds": 7.0,
                "baseline_subscribers": 1000,
                # Not JSON's own types, as a part's in-process result may hold: written as --json does.
                "finished": dt.datetime(2026, 11, 30, 18, 29, 41, tzinfo=dt.UTC),
                "databases": {"sqlite", "postgres"},
            },
        },
        "web": {"ok": False, "error": "exit 1", "log": ["wrk not found"], "seconds": 2.0},
    }
    # The benchmarks themselves are exercised by their own commands; here only what `all` makes of them.
    monkeypatch.setattr(bench_all, "_run_part", lambda part: outcomes[part.key])
    opts = {
        "full": False,
        "only": "digest,web",
        "skip": "",
        "scale": 1000,
        "out": tmp_path,
        "list": False,
        "keep": None,
    }
    doc = bench_all.run(opts)
    assert doc["summary"]["failed_parts"] == ["web"]
    assert doc["summary"]["missed"] == ["Digest composition: 10000 subscribers, sqlite (missed by 17%)"]
    written = json.loads(Path(doc["written"][0]).read_text())["parts"]["digest"]["result"]
    assert written["finished"] == "2026-11-30T18:29:41+00:00" and written["databases"] == [
        "postgres",
        "sqlite",
    ]
    md = Path(doc["written"][1]).read_text()
    assert "missed by 17%" in md and "`web`: exit 1" in md and "10.00x" in md
    pngs = list(tmp_path.glob("*/*.png"))
    assert [p.name for p in pngs] == ["digest-composition.png"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"]({pngs[0].parent.name}/digest-composition.png)" in md


def test_unknown_part_is_a_clear_error(tmp_path: Path) -> None:
    opts = {
        "full": False,
        "only": "nope",
        "skip": "",
        "scale": 1000,
        "out": tmp_path,
        "list": False,
        "keep": None,
    }
    with pytest.raises(SystemExit, match="unknown part"):
        bench_all.run(opts)


def test_recs_latency_reports_a_fresh_servers_first_page_against_the_warm_page() -> None:
    result = {
        "database": "sqlite",
        "page": {"p50_ms": 20.0, "p95_ms": 30.0},
        "api": {"p50_ms": 18.0, "p95_ms": 25.0},
        "baseline": {"p95_ms": 6.0},
        "target_p95_ms": 100.0,
        "cold": {"warmed_up": {"median_ms": 50.0}, "not_warmed_up": {"median_ms": 900.0}},
    }
    cold = {f.name: f for f in bench_all._recs_latency(result, {}) if "fresh server" in f.name}
    after = cold["for-you first page of a fresh server, after its warm-up, median, sqlite"]
    off = cold["for-you first page of a fresh server, warm-up off, median, sqlite"]
    assert (after.value, after.baseline, after.ratio_to_baseline) == (50.0, 20.0, 2.5)
    assert (off.value, off.ratio_to_baseline) == (900.0, 45.0)
    without = bench_all._recs_latency({k: v for k, v in result.items() if k != "cold"}, {})
    assert not [f for f in without if "fresh server" in f.name]  # --cold 0: no such figure


def test_recs_latency_reads_each_warm_up_from_the_servers_log(tmp_path: Path) -> None:
    from paperfeed.bench.recs_latency import _warm_ups

    log = tmp_path / "serve.log"
    log.write_text("INFO paperfeed.core.warmup: warmed up: urls 0.2 s, search 1.5 s, recs 37.1 s\n")
    start = log.stat().st_size
    with log.open("a") as f:
        f.write(
            "[INFO] Booting worker\n"
            "INFO paperfeed.core.warmup: warmed up: urls 0.1 s, search None s, recs 0.8 s\n"
        )
    assert _warm_ups(log, 0)[0] == {"urls": 0.2, "search": 1.5, "recs": 37.1}
    assert _warm_ups(log, start) == [{"urls": 0.1, "search": None, "recs": 0.8}]


def test_naming_the_full_scale_part_runs_it_without_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(
        bench_all,
        "_run_part",
        lambda part: ran.append(part.args) or {"ok": False, "error": "x", "seconds": 0},
    )
    opts = {
        "full": False,
        "only": "scale-full",
        "skip": "",
        "scale": 1000,
        "out": tmp_path,
        "list": False,
        "keep": tmp_path / "keep",
    }
    doc = bench_all.run(opts)
    assert ran == [["--papers", "2600000", "--home", str(tmp_path / "keep" / "scale-2600000")]]
    assert doc["summary"]["failed_parts"] == ["scale-full"]
