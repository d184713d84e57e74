"""A clock a test moves by hand, for the process, the database and Redis alike."""

from __future__ import annotations

import pytest

from paperfeed.core import clock


def freeze(monkeypatch: pytest.MonkeyPatch, now: list[float]) -> list[float]:
    """Every clock reads `now[0]` (scaled seconds) until the test moves it: this process's
    (clock.wall), the database's as the SQL that reads it in a statement sees it (clock.db_now_sql,
    which the rate limits' database counters go by) and Redis's as read with its counters
    (clock.redis_wall)."""
    monkeypatch.setattr(clock, "wall", lambda: now[0])
    monkeypatch.setattr(clock, "db_now_sql", lambda vendor: ("%s", [now[0]]))
    monkeypatch.setattr(clock, "redis_wall", lambda reply: now[0])
    return now
