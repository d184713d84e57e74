"""The harvester against the fake arXiv (tests/fakes/arxiv.py), in scaled time: PAPERFEED_TIME_SCALE
makes a 3 s politeness gap last 30 ms, and gaps are asserted in scaled seconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperfeed.papers.sources.http import ArxivClient, Limiter
from tests.fakes.arxiv import FakeArxiv, kaggle_records, spread

SCALE = 100.0


@pytest.fixture(scope="session")
def docs() -> list[dict[str, Any]]:
    """600 real records from the shared snapshot file."""
    return kaggle_records(600)


@pytest.fixture
def scaled(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setenv("PAPERFEED_TIME_SCALE", str(SCALE))
    monkeypatch.setenv("PAPERFEED_ARXIV_DELAY", "3")
    monkeypatch.setenv("PAPERFEED_HTTP_RETRIES", "8")
    # The longest overall deadline allowed. At this scale it is 0.6 s of real time, so the client's
    # real-time floor (MIN_REAL_TIMEOUT) is what applies: a loaded machine once took longer than 0.6 s
    # to serve a page, which then counted as a failed attempt and shifted the fake's fault script.
    monkeypatch.setenv("PAPERFEED_HTTP_TIMEOUT", "60")
    return SCALE


@pytest.fixture
def fake(docs: list[dict[str, Any]]) -> Iterator[FakeArxiv]:
    """240 records over 6 days (2026-06-25 … 06-30), 12 pages of 20."""
    server = FakeArxiv(spread(docs[:240], dt.date(2026, 6, 25), 6), page_size=20).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(tmp_path: Path, scaled: float) -> ArxivClient:
    return ArxivClient(Limiter(tmp_path / "arxiv.lock"))


def cli_fake_env(cli_env: dict[str, str], fake: FakeArxiv, **extra: str) -> dict[str, str]:
    return (
        cli_env
        | fake.env()
        | {
            "PAPERFEED_TIME_SCALE": str(SCALE),
            "PAPERFEED_ARXIV_DELAY": "3",
            "PAPERFEED_HTTP_RETRIES": "8",
            "PAPERFEED_HTTP_TIMEOUT": "60",
        }
        | extra
    )
