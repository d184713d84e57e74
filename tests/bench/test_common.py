"""The benchmarks' shared server start: it waits for every worker's warm-up, counted in its own log."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from paperfeed.bench.common import _warmed_up, serve, wait_for_warm_ups
from tests.reliability.support import base_env


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


@pytest.mark.timeout(180)  # a child boots gunicorn (collectstatic, migrations) on a fresh home
def test_the_benchmarks_server_serves_on_the_socket_it_was_handed(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = base_env(tmp_path / "home", PAPERFEED_WARM_UP="0")
    with serve(env, workers=1) as base:
        port = base.rsplit(":", 1)[1]
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        # The master was started systemd-style on the socket bound before it ran (so the port was
        # never free for another process to take), not told a port to bind itself.
        masters = [
            p for p in Path("/proc").glob("[0-9]*")
            if _argv(p)[-6:-2] == ["--host", "127.0.0.1", "--port", port] and "serve" in _argv(p)
        ]  # fmt: skip
        assert masters, f"no serve process for port {port}"
        environ = (masters[0] / "environ").read_bytes().split(b"\0")
        assert b"LISTEN_FDS=1" in environ
        assert f"LISTEN_PID={masters[0].name}".encode() in environ


def _argv(proc: Path) -> list[str]:
    try:
        return (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:  # gone meanwhile, or not ours to read
        return []
