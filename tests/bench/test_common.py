"""The benchmarks' shared server start: it waits for every worker's warm-up, counted in its own log."""

from __future__ import annotations

from pathlib import Path

from paperfeed.bench.common import _warmed_up


def test_warm_ups_are_counted_from_where_this_server_started_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("INFO paperfeed.core.warmup: warmed up: search 2.1 s\n")  # an earlier server's
    start = log.stat().st_size
    with log.open("a") as f:
        f.write("[INFO] Booting worker with pid: 12\nINFO paperfeed.core.warmup: warmed up: search 2.3 s\n")
    assert _warmed_up(log, start) == 1
    assert _warmed_up(log, 0) == 2
