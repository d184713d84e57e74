"""A new web worker builds what its first visitors would otherwise wait for, in the background."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from paperfeed.core import warmup
from paperfeed.recs import index
from tests.reliability.support import Server, wait_until


def test_every_app_with_a_warm_up_step_runs_and_a_failing_one_is_only_logged(
    db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, settings: Any, tmp_path: Path
) -> None:
    def broken() -> None:
        raise RuntimeError("model file missing")

    settings.HOME = tmp_path  # the recommendations' warm-up may save a window there
    monkeypatch.setattr(apps.get_app_config("search"), "warm_up", broken)
    with caplog.at_level(logging.ERROR):
        took = warmup.warm_up()
    index.reset()
    assert set(took) == {"urls", "search", "recs"}
    assert took["search"] is None and "warm-up of search failed" in caplog.text
    assert took["urls"] is not None and took["recs"] is not None


def test_switched_off_by_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_WARM_UP", "0")
    assert warmup.start_in_background() is None


@pytest.mark.migrated
@pytest.mark.timeout(240)  # a real server and two model loads: ~20 s idle, several times that under load
def test_each_gunicorn_worker_warms_up_after_it_starts(cli_env: dict[str, str], tmp_path: Path) -> None:
    # At WARNING too: the benchmarks' server helper waits for these lines (paperfeed.bench.common.serve).
    env = {**cli_env, "PAPERFEED_LOG_LEVEL": "WARNING", "PAPERFEED_WARM_UP": "1"}
    server = Server(env, tmp_path / "server.log", workers=2).wait_ready()
    try:
        wait_until(lambda: server.output().count("warmed up: ") >= 2, None, "both workers to warm up")
    finally:
        server.stop()
    lines = [line for line in server.output().splitlines() if "warmed up: " in line]
    assert all("search " in line and "recs " in line and "None" not in line for line in lines), lines
