"""The one clock every sleep, backoff and rate-limit window goes through.

Tests speed it up with PAPERFEED_TIME_SCALE (e.g. 100: a 3 s politeness gap lasts 30 ms) and can
then assert both the configured values and the gaps they observe, in scaled seconds.
"""

from __future__ import annotations

import time

from paperfeed.conf import env_float


def scale() -> float:
    return max(env_float("PAPERFEED_TIME_SCALE"), 1e-9)


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds / scale())


def monotonic() -> float:
    """Scaled seconds since an arbitrary point; differences compare with configured durations."""
    return time.monotonic() * scale()


def wall() -> float:
    """Scaled wall-clock seconds (for state shared between processes, e.g. a last-request stamp)."""
    return time.time() * scale()


# --- the database's clock ---------------------------------------------------------------------------
# State that machines judge together (who holds a lease, until when) must be stamped and read by one
# clock: each machine's own wall clock may be off by more than a lease lasts, and two workers would
# then both believe they hold it. The database's is the one they share. Scaled like wall().
_DB_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0 * %s)",
    # clock_timestamp(), not now(): now() stands still for the whole transaction.
    "postgresql": "(EXTRACT(EPOCH FROM clock_timestamp())::double precision * %s)",
}


def db_now_sql(vendor: str) -> tuple[str, list[float]]:
    """SQL for the database's time in scaled epoch seconds, with its parameters."""
    return _DB_NOW[vendor], [scale()]


def db_wall(using: str = "default") -> float:
    """The database's wall clock in scaled epoch seconds (compare with stamps taken by DbWall)."""
    from django.db import connections

    conn = connections[using]
    sql, params = db_now_sql(conn.vendor)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return float(cursor.fetchone()[0])


# --- Redis's clock -----------------------------------------------------------------------------------
# The rate limits' counters in Redis go by Redis's clock, read with the counters (TIME), for the
# database's reason: every web machine then counts a client in the same windows, whatever its own
# clock says.
def redis_wall(reply: tuple[int, int]) -> float:
    """Redis's TIME reply (seconds, microseconds) in scaled epoch seconds."""
    seconds, micros = reply
    return (seconds + micros / 1_000_000) * scale()
