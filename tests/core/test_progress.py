"""Progress off a terminal: counts in the log, and the total once."""

from __future__ import annotations

import logging

import pytest

from paperfeed.core.progress import Progress


def test_the_last_count_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="paperfeed.progress")
    with Progress("import", total=3, every=0) as bar:  # every update logs (not a terminal here)
        for _ in range(3):
            bar.update(1, created=1)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"import: {n}/3 it created=1" for n in (1, 2, 3)]


def test_close_logs_what_came_after_the_last_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="paperfeed.progress")
    with Progress("index", total=2, every=3600) as bar:
        bar.update(2)
    assert [r.getMessage() for r in caplog.records] == ["index: 2/2 it "]
