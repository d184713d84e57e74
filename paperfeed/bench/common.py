"""Helpers the benchmarks share: the real data's location, fresh homes and databases, child runs."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARED_DATA = Path(
    os.environ.get("PAPERFEED_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")
)
SNAPSHOT = SHARED_DATA / "arxiv_metadata" / "arxiv_cs_daily_2025-03_2026-07.kaggle.jsonl.gz"
PG_ADMIN_URL = os.environ.get("PAPERFEED_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def postgres_database(prefix: str = "pfbench") -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_env(database: str) -> Iterator[dict[str, str]]:
    """Environment for a child `paperfeed` with its own home and (for postgres) its own database."""
    with tempfile.TemporaryDirectory(prefix="pfbench-") as home:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["PAPERFEED_HOME"] = home
        if database == "postgres":
            with postgres_database() as url:
                env["DATABASE_URL"] = url
                yield env
        else:
            yield env


def paperfeed(
    args: list[str], env: dict[str, str], timeout: float = 3600
) -> tuple[dict[str, Any] | None, float]:
    """Run `paperfeed ARGS` in a child; return (its --json output or None, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"paperfeed {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    out = proc.stdout.strip().splitlines()
    return (json.loads(out[-1]) if out and "--json" in args else None), seconds


def peak_rss_children_mb() -> float:
    """Peak resident memory of the largest child waited for so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
