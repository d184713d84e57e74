"""The benchmarks' shared server start: it waits for every worker's warm-up, counted in its own log."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from paperfeed.bench.common import _warmed_up, wait_for_warm_ups


def test_warm_ups_are_counted_from_where_this_server_started_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("INFO paperfeed.core.warmup: warmed up: search 2.1 s\n")  # an earlier server's
    start = log.stat().st_size
    with log.open("a") as f:
        f.write("[INFO] Booting worker with pid: 12\nINFO paperfeed.core.warmup: warmed up: search 2.3 s\n")
    assert _warmed_up(log, start) == 1
    assert _warmed_up(log, 0) == 2


def test_a_warm_up_missing_at_the_deadline_is_reported_not_waited_for_forever(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "serve.log"
    log.write_text("INFO paperfeed.core.warmup: warmed up: search 2.3 s\n")
    with caplog.at_level(logging.WARNING, logger="paperfeed.bench.common"):
        assert wait_for_warm_ups(log, 0, 1, time.monotonic() + 60) == 1
        assert not caplog.records
        assert wait_for_warm_ups(log, 0, 2, time.monotonic() + 1) == 1
    assert "1 of 2 workers logged their warm-up by the deadline" in caplog.text
